import Testing
@testable import ZMesh
import ZMeshTestSupport

/// The router's Majordomo rules that differ by dialect (``ZMesh/MDP/Dialect``): who takes
/// PARTIALs, whose silence while busy is allowed, and that every answer goes back in the
/// dialect its client spoke.
extension BrokerRouterTests {
    typealias Dialect = ZMesh.MDP.Dialect

    /// The id the router gives its `sequence`th Majordomo request.
    static func majordomoKey(_ sequence: UInt64) -> RequestID { RequestID(client: majordomoClient, sequence: sequence) }

    /// MDP/0.1 has one REPLY per request (a REQ socket takes exactly one), so a worker's
    /// PARTIALs are kept and joined into it; a majortomo client takes them as they come.
    @Test func anMDP01ClientGetsAWorkersPartsInOneReplyAndAMajortomoClientAsTheyCome() throws {
        let clock = ManualClock()
        var (router, out) = Self.mesh([])
        let worker = router.registerWorker(Array("w".utf8), service: "parts", dialect: .rfc18, descriptor: 3, now: clock.now, output: &out)
        let client = [Array("c".utf8)]
        let part = [Array("part".utf8)], last = [Array("last".utf8)]
        for (sequence, dialect) in [(UInt64(1), Dialect.rfc7), (2, .majortomo)] {
            router.majordomoRequest(ZMesh.MDP.Caller(service: "parts", dialect: dialect), body: Self.body, from: client,
                                    now: clock.now, output: &out)
            _ = out.take()
            let key = Self.majordomoKey(sequence)
            router.partialAnswer(part, of: key, try #require(router.flight(key)), relaysToBrokers: true, output: &out)
            let partials = out.take()
            router.workerFinal(key, try #require(router.flight(key)), worker: worker, body: last, now: clock.now, output: &out)
            let final = out.take()
            if dialect == .rfc7 {
                #expect(partials.isEmpty)
                #expect(final == [.majordomo(.final, route: client, service: "parts", status: nil, body: part + last, dialect: .rfc7)])
            } else {
                #expect(partials == [.majordomo(.partial, route: client, service: "parts", status: nil, body: part, dialect: .majortomo)])
                #expect(final == [.majordomo(.final, route: client, service: "parts", status: nil, body: last, dialect: .majortomo)])
            }
        }
        #expect(router.isIdle)
    }

    /// The guide's MDP/0.1 worker and majortomo's fall silent while they run a request: busy,
    /// they are heartbeated but not expired; idle and silent, they are. An RFC 18 worker must
    /// heartbeat while busy, so it expires either way. Every command goes in the worker's dialect.
    @Test func aBusyWorkerOfADialectThatCannotHeartbeatWhileBusyIsKeptButAnIdleSilentOneExpires() {
        var clock = ManualClock()
        var (router, out) = Self.mesh([])   // heartbeat 500 ms x liveness 3
        let workers: [(Dialect, [UInt8])] = [(.rfc7, Array("w7".utf8)), (.majortomo, Array("wm".utf8)), (.rfc18, Array("w18".utf8))]
        for (index, (dialect, routingID)) in workers.enumerated() {
            router.registerWorker(routingID, service: "job", dialect: dialect, descriptor: Int32(index), now: clock.now, output: &out)
        }
        let idle = Array("idle7".utf8)
        router.registerWorker(idle, service: "other", dialect: .rfc7, descriptor: 9, now: clock.now, output: &out)
        for sequence in 1...3 {
            router.majordomoRequest(ZMesh.MDP.Caller(service: "job", dialect: .rfc18), body: Self.body, from: [Array("c\(sequence)".utf8)],
                                    now: clock.now, output: &out)
        }
        #expect(router.snapshot().inFlight == 3)   // one each: a worker takes one at a time
        _ = out.take()
        clock.advance(by: .milliseconds(1_500))
        router.tickWorkers(now: clock.now, output: &out)
        let events = out.take()
        #expect(events.contains(.tell(Array("w18".utf8), .disconnect, dialect: .rfc18)))
        #expect(events.contains(.tell(idle, .disconnect, dialect: .rfc7)))
        #expect(events.contains(.tell(Array("w7".utf8), .heartbeat, dialect: .rfc7)))
        #expect(events.contains(.tell(Array("wm".utf8), .heartbeat, dialect: .majortomo)))
        #expect(!events.contains(.tell(Array("w7".utf8), .disconnect, dialect: .rfc7)))
        #expect(!events.contains(.tell(Array("wm".utf8), .disconnect, dialect: .majortomo)))
        #expect(router.worker(routingID: Array("w7".utf8)) != nil && router.worker(routingID: Array("wm".utf8)) != nil)
        #expect(router.worker(routingID: Array("w18".utf8)) == nil && router.worker(routingID: idle) == nil)
        // The expired RFC 18 worker's request waits for a worker with room (RFC 18 queues it).
        #expect(router.stats.redispatched == 1)
        #expect(router.snapshot().queued == 1)
    }

    /// A request forwarded to the broker a worker is on asks for partial replies only for a
    /// client that takes PARTIALs: not for MDP/0.1.
    @Test func throughAnotherBrokerOnlyClientsThatTakePartialsAskForThem() throws {
        let clock = ManualClock()
        var router = Self.router()
        var out = Recorder()
        let other = InstanceInfo(instance: "b-2-workers", node: "b-2", endpoint: Self.endpoint("b-2"), services: ["parts"],
                                 load: 0, capacity: 10, health: .live, lastHeartbeatMillisecondsAgo: 0, role: "broker")
        router.apply([other], complete: true, now: clock.now, output: &out)
        router.connected(endpoint: Self.endpoint("b-2"), now: clock.now, output: &out)
        _ = out.take()
        for (sequence, dialect) in [(UInt64(1), Dialect.rfc7), (2, .majortomo), (3, .rfc18)] {
            router.majordomoRequest(ZMesh.MDP.Caller(service: "parts", dialect: dialect), body: Self.body,
                                    from: [Array("c\(sequence)".utf8)], now: clock.now, output: &out)
            guard case .send(let instance, _, let header, _) = try #require(out.take().first) else {
                Issue.record("\(dialect): nothing sent to the other broker")
                continue
            }
            #expect(instance == "b-2-workers")
            #expect(header.flags.contains(.acceptsPartials) == dialect.takesPartials, "\(dialect)")
        }
    }

    /// The broker's own answers (here: expiry) reach each Majordomo client in its dialect.
    @Test func theBrokersOwnAnswersReachEachClientInItsDialect() {
        var clock = ManualClock()
        var (router, out) = Self.mesh(["e1"]) { $0.majordomoRequestTimeout = .seconds(10) }
        for (index, dialect) in Dialect.allCases.enumerated() {
            router.majordomoRequest(ZMesh.MDP.Caller(service: "nothing", dialect: dialect), body: Self.body,
                                    from: [[UInt8(index)]], now: clock.now, output: &out)
        }
        clock.advance(by: .seconds(10))
        router.sweep(now: clock.now, output: &out)
        let finals = out.take()
        for (index, dialect) in Dialect.allCases.enumerated() {
            #expect(finals.contains(.majordomo(.final, route: [[UInt8(index)]], service: "nothing",
                                               status: StatusCode.deadlineExceeded.rawValue,
                                               body: [Array("the deadline passed while the request waited at broker b-1".utf8)],
                                               dialect: dialect)), "\(dialect): \(finals)")
        }
        #expect(router.isIdle)
    }
}
