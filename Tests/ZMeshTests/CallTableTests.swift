import Foundation
import Logging
import Testing
import MeshClock
@testable import ZMesh
import ZeroMQ

/// The client's call table as a pure state machine: calls, connection events, replies,
/// registry answers and sweeps fed at times the test chooses, with a fake network that
/// records what would be sent. No socket, no sleep.
@Suite("Client call table, deterministic")
struct CallTableTests {
    /// Connections are numbered links; the clock moves only when told to.
    struct FakeNetwork: CallOutput {
        var now = MonotonicTime(nanoseconds: 1_000_000_000)
        var sent: [(link: Int, header: Header, payload: [UInt8])] = []
        var opened: [String] = []
        var closed: [Int] = []
        var sweepAt: MonotonicTime?
        /// Services the table asked the resolver to look up, in order.
        var lookups: [String] = []

        mutating func send(_ header: Header, payload: [UInt8], via link: Int) -> Bool {
            sent.append((link, header, payload))
            return true
        }
        mutating func connect(_ id: ConnectionID, to endpoint: String) -> Int? {
            opened.append(endpoint)
            return Int(id.raw)
        }
        mutating func close(_ link: Int) { closed.append(link) }
        mutating func reconnect(_ link: Int, to endpoint: String) -> Bool { true }
        mutating func discardOutbound(_ link: Int) {}
        mutating func armSweep(at time: MonotonicTime) { sweepAt = time }
        /// Records the look-up; the test answers it with `lookupFinished`.
        mutating func lookUp(_ service: String) { lookups.append(service) }

        /// REQUESTs sent (CANCELs left out).
        var requests: [(link: Int, header: Header, payload: [UInt8])] { sent.filter { $0.header.command == .request } }
    }

    /// How each call ended, by sequence number.
    final class Results: Sendable {
        let ended = Locked<[UInt64: Result<[UInt8], MeshError>]>([:])
        func completion(_ seq: UInt64) -> CallRequest.Completion {
            .client { [ended] result in ended.update { $0[seq] = result.map(\.payload) } }
        }
        subscript(seq: UInt64) -> Result<[UInt8], MeshError>? { ended.value[seq] }
    }

    static let clientID: UInt64 = 99

    static func table(_ discovery: Discovery) -> CallTable<Int> {
        CallTable(clientID: clientID, configuration: MeshClient.Configuration(discovery: discovery),
                  logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), seed: 1)
    }

    static func call(_ name: String, _ results: Results, _ seq: UInt64, net: FakeNetwork, timeout: Duration = .seconds(5),
                     idempotent: Bool = true, maxAttempts: Int = 3) -> CallRequest {
        CallRequest(completion: results.completion(seq), name: name, payload: Array("p\(seq)".utf8), timeout: timeout,
                    idempotent: idempotent, maxAttempts: maxAttempts, now: net.now)
    }

    static func reply(to header: Header, _ body: [UInt8]) -> Header {
        var reply = Header(command: .reply, requestID: header.requestID)
        reply.attempt = header.attempt
        return reply
    }

    /// A table over two endpoints, both up.
    static func twoUp() -> (CallTable<Int>, FakeNetwork) {
        var table = table(.endpoints(["tcp://127.0.0.1:1", "tcp://127.0.0.1:2"]))
        var net = FakeNetwork()
        table.startIfNeeded(output: &net)
        table.connectionUp(ConnectionID(raw: 1), output: &net)
        table.connectionUp(ConnectionID(raw: 2), output: &net)
        return (table, net)
    }

    @Test func callsGoToTheConnectionWithTheFewestOutstanding() {
        var (table, net) = Self.twoUp()
        let results = Results()
        for seq in 1...4 { table.start(UInt64(seq), Self.call("echo", results, UInt64(seq), net: net), output: &net) }
        let links = net.requests.map(\.link)
        #expect(links.filter { $0 == 1 }.count == 2)
        #expect(links.filter { $0 == 2 }.count == 2)
        // Answer both of link 1's: the next two go there.
        for sent in net.requests where sent.link == 1 {
            table.receive(Self.reply(to: sent.header, []), payload: [], message: "", from: ConnectionID(raw: 1), output: &net)
        }
        for seq in 5...6 { table.start(UInt64(seq), Self.call("echo", results, UInt64(seq), net: net), output: &net) }
        #expect(net.requests.suffix(2).map(\.link) == [1, 1])
    }

    /// An instance lost with a call in flight: the call is re-sent once, to the other
    /// instance, with the same request id and the next attempt number; its one answer ends
    /// it, and the lost instance's late answer is counted, not delivered again.
    @Test func aLostConnectionsIdempotentCallIsResentOnceWithTheSameID() throws {
        var (table, net) = Self.twoUp()
        let results = Results()
        table.start(1, Self.call("echo", results, 1, net: net), output: &net)
        let first = try #require(net.requests.first)
        table.connectionDown(ConnectionID(raw: UInt32(first.link)), refusal: nil, event: "disconnected", output: &net)
        #expect(net.requests.count == 2)
        let second = net.requests[1]
        #expect(second.link != first.link)
        #expect(second.header.requestID == first.header.requestID)
        #expect(second.header.attempt == 1)
        #expect(second.payload == first.payload)
        table.receive(Self.reply(to: second.header, []), payload: [7], message: "", from: ConnectionID(raw: UInt32(second.link)), output: &net)
        #expect(try results[1]?.get() == [7])
        table.receive(Self.reply(to: first.header, []), payload: [8], message: "", from: ConnectionID(raw: UInt32(first.link)), output: &net)
        #expect(try results[1]?.get() == [7])
        #expect(table.stats.lateReplies == 1)
        #expect(table.stats.retries == 1)
        #expect(net.requests.count == 2)
    }

    @Test func aLostConnectionsNonIdempotentCallEndsUnavailableAndMayHaveRun() {
        var (table, net) = Self.twoUp()
        let results = Results()
        table.start(1, Self.call("kv.put", results, 1, net: net, idempotent: false), output: &net)
        table.connectionDown(ConnectionID(raw: UInt32(net.requests[0].link)), refusal: nil, event: "disconnected", output: &net)
        #expect(net.requests.count == 1)
        guard case .failure(let error) = results[1] else {
            Issue.record("not failed: \(String(describing: results[1]))")
            return
        }
        #expect(error.code == .unavailable)
        #expect(error.mayHaveRun)
    }

    @Test func aRefusalWithRetryElsewhereIsResentToAnotherConnection() {
        var (table, net) = Self.twoUp()
        let results = Results()
        table.start(1, Self.call("echo", results, 1, net: net), output: &net)
        let first = net.requests[0]
        var refusal = Header(command: .error, requestID: first.header.requestID)
        refusal.status = StatusCode.unavailable.rawValue
        refusal.flags = [.retryElsewhere]
        table.receive(refusal, payload: [], message: "draining", from: ConnectionID(raw: UInt32(first.link)), output: &net)
        #expect(net.requests.count == 2)
        #expect(net.requests[1].link != first.link)
        #expect(net.requests[1].header.attempt == 1)
        #expect(results[1] == nil)
    }

    /// A call ends with `timeout` exactly at its deadline, and its peer is sent a CANCEL.
    @Test func aCallTimesOutExactlyAtItsDeadlineAndCancelsAtItsPeer() {
        var (table, net) = Self.twoUp()
        let results = Results()
        table.start(1, Self.call("sleep", results, 1, net: net, timeout: .milliseconds(100)), output: &net)
        #expect(net.sweepAt == net.now.advanced(by: .milliseconds(100)))
        table.sweep(now: net.now.advanced(by: .milliseconds(100) - .nanoseconds(1)), output: &net)
        #expect(results[1] == nil)
        table.sweep(now: net.now.advanced(by: .milliseconds(100)), output: &net)
        guard case .failure(let error) = results[1] else {
            Issue.record("not ended at its deadline")
            return
        }
        #expect(error.code == .timeout)
        #expect(net.sent.last?.header.command == .cancel)
        #expect(net.sent.last?.header.requestID == net.requests[0].header.requestID)
    }

    @Test func aCallWaitsForAConnectionThatIsStillConnecting() {
        var table = Self.table(.endpoints(["tcp://127.0.0.1:1"]))
        var net = FakeNetwork()
        let results = Results()
        table.start(1, Self.call("echo", results, 1, net: net), output: &net)
        #expect(net.requests.isEmpty)
        table.connectionUp(ConnectionID(raw: 1), output: &net)
        #expect(net.requests.count == 1)
    }

    @Test func aCallGivesUpAfterItsAttempts() {
        var (table, net) = Self.twoUp()
        let results = Results()
        table.start(1, Self.call("echo", results, 1, net: net, maxAttempts: 2), output: &net)
        table.connectionDown(ConnectionID(raw: UInt32(net.requests[0].link)), refusal: nil, event: "disconnected", output: &net)
        table.connectionDown(ConnectionID(raw: UInt32(net.requests[1].link)), refusal: nil, event: "disconnected", output: &net)
        guard case .failure(let error) = results[1] else {
            Issue.record("not ended")
            return
        }
        #expect(error.code == .unavailable)
        #expect(error.message.contains("gave up after 2 attempts"))
    }

    @Test func aCancelThatOvertakesItsCallEndsTheCallUnsent() {
        var (table, net) = Self.twoUp()
        let results = Results()
        table.cancel(1, now: net.now, output: &net)
        table.start(1, Self.call("echo", results, 1, net: net), output: &net)
        #expect(net.requests.isEmpty)
        guard case .failure(let error) = results[1] else {
            Issue.record("not ended")
            return
        }
        #expect(error.code == .cancelled)
    }

    // MARK: Registry discovery

    static func instance(_ id: String, _ port: Int, service: String = "echo") -> InstanceInfo {
        InstanceInfo(instance: id, node: id, endpoint: "tcp://127.0.0.1:\(port)", services: [service], load: 0, capacity: 8,
                     health: .live, lastHeartbeatMillisecondsAgo: 0, role: nil)
    }

    static func answer(_ instances: [InstanceInfo], complete: Bool = true) -> LookupReply {
        LookupReply(registry: "r", instances: instances, complete: complete)
    }

    /// A table with one registry (link 1, up).
    static func withRegistry() -> (CallTable<Int>, FakeNetwork) {
        var table = table(.registries([RegistryAddress(endpoint: "tcp://127.0.0.1:10", publish: nil)]))
        var net = FakeNetwork()
        table.startIfNeeded(output: &net)
        table.connectionUp(ConnectionID(raw: 1), output: &net)
        return (table, net)
    }

    @Test func aNameIsLookedUpThenCalledAtAnInstanceTheRegistryNamed() throws {
        var (table, net) = Self.withRegistry()
        let results = Results()
        table.start(1, Self.call("echo", results, 1, net: net), output: &net)
        #expect(net.lookups == ["echo"])
        #expect(net.requests.isEmpty)   // the resolver looks it up, not a call on the table's connections
        table.lookupFinished("echo", .success(Self.answer([Self.instance("echo-1", 21)])), output: &net)
        #expect(net.opened.last == "tcp://127.0.0.1:21")
        #expect(net.requests.isEmpty)   // parked until its connection is up
        table.connectionUp(ConnectionID(raw: 2), output: &net)
        #expect(net.requests.count == 1)
        #expect(net.requests[0].link == 2)
        #expect(net.requests[0].header.name == "echo")
    }

    /// A registry that just started answers "incomplete": that can add instances, never
    /// remove one; a complete answer then decides.
    @Test func anIncompleteAnswerOnlyAddsInstances() throws {
        var (table, net) = Self.withRegistry()
        let results = Results()
        table.start(1, Self.call("echo", results, 1, net: net), output: &net)
        #expect(net.lookups == ["echo"])
        table.apply("echo", [Self.instance("a", 21), Self.instance("b", 22)], complete: true, output: &net)
        table.apply("echo", [Self.instance("c", 23)], complete: false, output: &net)
        #expect(table.knownEndpoints(of: "echo") == ["tcp://127.0.0.1:21", "tcp://127.0.0.1:22", "tcp://127.0.0.1:23"])
        table.apply("echo", [Self.instance("c", 23)], complete: true, output: &net)
        #expect(table.knownEndpoints(of: "echo") == ["tcp://127.0.0.1:23"])
        #expect(Set(net.closed) == [2, 3])   // a's and b's connections, nothing in flight on them
    }

    /// Issue 10: answers with no instance are forgotten at the next refresh, so calls to
    /// made-up names leave nothing behind, while a name with instances stays known.
    @Test func emptyAnswersAreForgottenAtTheNextRefresh() throws {
        var (table, net) = Self.withRegistry()
        let results = Results()
        table.start(1, Self.call("echo", results, 1, net: net), output: &net)
        table.lookupFinished("echo", .success(Self.answer([Self.instance("echo-1", 21)])), output: &net)
        for seq in 2...100 {
            table.start(UInt64(seq), Self.call("nothing\(seq)", results, UInt64(seq), net: net), output: &net)
            #expect(net.lookups.last == "nothing\(seq)")
            table.lookupFinished("nothing\(seq)", .success(Self.answer([])), output: &net)
            guard case .failure(let error) = results[UInt64(seq)] else {
            Issue.record("call \(seq) did not fail")
            return
        }
            #expect(error.code == .unavailable)
        }
        #expect(table.resolutions.count == 100)
        table.refresh(output: &net)
        #expect(table.resolutions.keys.sorted() == ["echo"])
    }
}
