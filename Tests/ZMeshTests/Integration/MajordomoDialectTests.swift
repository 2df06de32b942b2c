import Foundation
import Testing
@testable import ZMesh
import ZMeshTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Majordomo as it is spoken beside RFC 18 (issue 14), against the real broker in both
/// brokered topology files: MDP/0.1 (RFC 7) clients on REQ and DEALER sockets and workers,
/// written from RFC 7 alone (Tests/Peers/mdp01*.py), and majortomo 0.2.0's own Client and
/// Worker from PyPI, unmodified (Tests/Peers/majortomo_*.py). Each checks the frames it gets
/// in its own dialect. RFC 18's peers are MajordomoTests'; they join in where dialects mix.
@Suite("Majordomo dialects: MDP/0.1 and majortomo", .serialized, .oneMeshAtATime)
struct MajordomoDialectTests {
    static let topologies = ["topologies/brokered.yaml", "topologies/ha.yaml"]

    // MARK: - Clients of every dialect calling Swift services

    @Test(arguments: topologies)
    func clientsOfEveryDialectCallSwiftServicesAndMMIThroughEveryBroker(file: String) async throws {
        try await MajordomoPeers.requireMajortomo()
        let mesh = try await MeshUnderTest(file)
        defer { Task { await mesh.down() } }
        let run = UUID().uuidString.prefix(8)
        for (index, broker) in mesh.topology.brokers.enumerated() {
            for client in MajordomoClientPeer.otherDialects {
                let body = "hello-\(client)-\(broker.name)-\(run)"
                let echo = try await client.request(broker.bind, "echo", [body])
                #expect(echo.final == [body] && echo.partials.isEmpty, "\(client) echo through \(broker.name): \(echo)")

                let key = "\(client)-\(run)-\(index)"
                let put = try await client.request(broker.bind, "kv.put", ["\(key)=v-\(index)"])
                #expect(put.final == ["OK"], "\(client) kv.put through \(broker.name): \(put)")
                for other in mesh.topology.brokers {
                    let get = try await client.request(other.bind, "kv.get", [key])
                    #expect(get.final == ["v-\(index)"], "\(client) kv.get through \(other.name): \(get)")
                }
                // An application error: a FINAL (MDP/0.1: REPLY) of [status, message].
                let missing = try await client.request(broker.bind, "kv.get", ["no-such-key-\(run)"])
                let status = missing.final.first.flatMap { Int($0) } ?? 0
                #expect(missing.final.count == 2 && status >= 400, "\(client) kv.get of a missing key: \(missing)")

                // MMI (RFC 8) in every dialect.
                #expect(try await client.request(broker.bind, "mmi.service", ["echo"]).final == ["200"], "\(client)")
                #expect(try await client.request(broker.bind, "mmi.service", ["nosuch-\(run)"]).final == ["404"], "\(client)")
                #expect(try await client.request(broker.bind, "mmi.whatever", ["echo"]).final == ["501"], "\(client)")
            }
        }
        await mesh.down()
    }

    // MARK: - Workers of every dialect serving everyone

    @Test(arguments: topologies)
    func workersOfEveryDialectServeNativeCallersAndClientsOfEveryDialect(file: String) async throws {
        try await MajordomoPeers.requireMajortomo()
        let mesh = try await MeshUnderTest(file)
        defer { Task { await mesh.down() } }
        let home = mesh.topology.brokers[0]
        let endpoint = try #require(home.workers)
        let workers: [(MajordomoWorkerPeer, String, ChildProcess)] = try [MajordomoWorkerPeer.rfc7, .majortomo].map { peer in
            let service = "upper-\(peer)"
            return (peer, service, try peer.start(endpoint, service, mode: "upper", name: "\(service)-1"))
        }
        for (_, service, worker) in workers {
            try await MDP.waitForReady(worker)
            try await MDP.waitUntilServed(mesh, service)
        }
        for broker in mesh.topology.brokers {
            let native = try mesh.client { $0.discovery = .brokers([broker.bind]) }
            for (peer, service, _) in workers {
                let body = "native \(peer) via \(broker.name)"
                let served = await eventually(timeout: .seconds(20)) {
                    (try? await native.call(service, body.bytes, options: CallOptions(timeout: .seconds(2))))?.text == body.uppercased()
                }
                #expect(served, "a native call to the \(peer) worker through \(broker.name) never succeeded")
                for client in MajordomoClientPeer.allCases {
                    let text = "\(client) to \(peer) via \(broker.name)"
                    let reply = try await client.request(broker.bind, service, [text])
                    #expect(reply.final == [text.uppercased()] && reply.partials.isEmpty, "\(text): \(reply)")
                }
            }
            await native.shutdown()
        }
        let perBroker = 1 + MajordomoClientPeer.allCases.count
        for (_, _, worker) in workers { MDP.expectClean(worker, requests: perBroker * mesh.topology.brokers.count) }

        // Each says DISCONNECT on shutdown, in its dialect: the broker forgets it at once.
        for (peer, service, worker) in workers {
            await worker.stop()
            #expect(worker.log.contains("STOPPED"), "the \(peer) worker did not stop cleanly:\n\(worker.log)")
            let gone = await eventually(timeout: .seconds(10)) {
                (try? await peer.client.request(home.bind, "mmi.service", [service]))?.final == ["404"]
            }
            #expect(gone, "mmi.service \(service) still not 404 10 s after its only worker (\(peer)) said DISCONNECT")
        }
        await mesh.down()
    }

    // MARK: - PARTIAL, as each client can take it

    @Test(arguments: topologies)
    func partialsReachEachClientAsItsDialectAllows(file: String) async throws {
        try await MajordomoPeers.requireMajortomo()
        let mesh = try await MeshUnderTest(file)
        defer { Task { await mesh.down() } }
        let endpoint = try #require(mesh.topology.brokers[0].workers)
        // Workers that send PARTIALs: majortomo's, and RFC 18's (MDP/0.1 has no PARTIAL).
        let workers = try [MajordomoWorkerPeer.majortomo, .rfc18].map { peer in
            (name: "parts-\(peer)", process: try peer.start(endpoint, "parts-\(peer)", mode: "partials", name: "parts-\(peer)"))
        }
        for worker in workers {
            try await MDP.waitForReady(worker.process)
            try await MDP.waitUntilServed(mesh, worker.name)
        }
        for broker in mesh.topology.brokers {
            for worker in workers {
                for client in MajordomoClientPeer.allCases {
                    let reply = try await client.request(broker.bind, worker.name, ["job"])
                    let parts = ["\(worker.name):part-1", "\(worker.name):part-2"], last = "\(worker.name):final:job"
                    if client.takesPartials {
                        #expect(reply.partials == parts.map { [$0] } && reply.final == [last],
                                "\(client) via \(broker.name) from \(worker.name): PARTIALs as they come: \(reply)")
                    } else {
                        #expect(reply.partials.isEmpty && reply.final == parts + [last],
                                "\(client) via \(broker.name) from \(worker.name): one REPLY with every part: \(reply)")
                    }
                }
            }
        }
        for worker in workers {
            MDP.expectClean(worker.process, requests: MajordomoClientPeer.allCases.count * mesh.topology.brokers.count)
            await worker.process.stop()
        }
        await mesh.down()
    }

    // MARK: - Failover: kill -9 mid-request

    @Test(arguments: topologies)
    func aRequestWhoseWorkerIsKilledIsAnsweredByAnotherInEveryDialect(file: String) async throws {
        try await MajordomoPeers.requireMajortomo()
        let mesh = try await MeshUnderTest(file)
        defer { Task { await mesh.down() } }
        let endpoint = try #require(mesh.topology.brokers[0].workers)
        let rounds: [(MajordomoWorkerPeer, [MajordomoClientPeer])] = [(.majortomo, [.majortomo]), (.rfc7, [.rfc7Req, .rfc7Dealer])]
        for (peer, clients) in rounds {
            let service = "slow-\(peer)"
            func slowWorker(_ name: String) throws -> ChildProcess {
                try peer.start(endpoint, service, mode: "slow", name: name, delayMs: 1500)
            }
            var pool = [try slowWorker("\(service)-a"), try slowWorker("\(service)-b")]
            for worker in pool { try await MDP.waitForReady(worker) }
            try await MDP.waitUntilServed(mesh, service)

            // Each client of the workers' dialect through every broker (ha.yaml: broker-2 forwards to broker-1).
            for (index, (broker, client)) in mesh.topology.brokers.flatMap({ broker in clients.map { (broker, $0) } }).enumerated() {
                let job = "\(client)-job-\(UUID().uuidString.prefix(8))"
                let waiting = try client.background(broker.bind, service, [job], timeout: 25)
                let (victim, survivor) = try await MDP.killTheOneThatGot(job, of: pool)
                let exited = await waiting.waitForExit(timeout: .seconds(30))
                let reply = try MDP.parse(waiting.log, status: exited ?? -1)
                #expect(exited == 0 && reply.final == ["\(survivor.name):\(job)"],
                        "\(client) through \(broker.name): \(victim.name) was killed holding \(job); expected \(survivor.name) to answer: \(reply)")
                await waiting.stop()
                pool = [survivor, try slowWorker("\(victim.name)-\(index)")]
                try await MDP.waitForReady(pool[1])
            }

            // A native Swift client, through the last broker.
            let broker = try #require(mesh.topology.brokers.last)
            let native = try mesh.client { $0.discovery = .brokers([broker.bind]) }
            let job = "native-job-\(UUID().uuidString.prefix(8))"
            let pending = Task { try await native.call(service, job.bytes, options: CallOptions(timeout: .seconds(25))).text }
            let (victim, survivor) = try await MDP.killTheOneThatGot(job, of: pool)
            switch await pending.result {
            case .success(let text):
                #expect(text == "\(survivor.name):\(job)", "native through \(broker.name): \(victim.name) was killed; got \(text)")
            case .failure(let error):
                Issue.record("native call through \(broker.name) failed after the \(peer) worker \(victim.name) was killed: \(error)")
            }
            await native.shutdown()
            #expect(!survivor.log.contains("VIOLATION"), "\(survivor.name) saw the broker break its dialect:\n\(survivor.log)")
            #expect(!survivor.log.contains("RECONNECT"), "\(survivor.name) lost the broker while it was up:\n\(survivor.log)")
            await survivor.stop()
        }
        await mesh.down()
    }

    // MARK: - Malformed traffic of each dialect

    @Test(arguments: topologies)
    func malformedMessagesOfEachDialectAreDroppedAndCountedAndTheBrokerServesOn(file: String) async throws {
        try await MajordomoPeers.requireMajortomo()
        let mesh = try await MeshUnderTest(file)
        defer { Task { await mesh.down() } }
        for broker in mesh.topology.brokers {
            let workers = try #require(broker.workers)
            let before = try await MajordomoPeers.malformedCount(at: broker.bind)
            let garbage = try await runCommand("/usr/bin/env", ["python3", MDP.peer("mdp_dialect_garbage.py"),
                                                                "--frontend", broker.bind, "--workers", workers],
                                               timeout: .seconds(60))
            let line = garbage.stdout.split(separator: "\n").last.map(String.init) ?? ""
            let summary = try? JSONDecoder.snakeCase.decode(DialectGarbageSummary.self, from: Data(line.utf8))
            #expect(garbage.status == 0 && summary?.ok == true, """
                mdp_dialect_garbage.py against \(broker.name) exited \(garbage.status):
                missing required DISCONNECT: \(summary?.missingRequiredDisconnect ?? [])
                commands in another dialect: \(summary?.wrongDialect ?? [:])
                commands after DISCONNECT: \(summary?.commandsAfterDisconnect ?? [:])
                answers to garbage: \(summary?.answeredGarbage ?? [:])
                \(garbage.stdout.suffix(2_000))\(garbage.stderr)
                """)
            let counted = try await MajordomoPeers.malformedCount(at: broker.bind) - before
            let expected = try #require(summary?.countedAtLeast)
            #expect(counted >= expected, "\(broker.name) counted \(counted) malformed messages, expected at least \(expected)")

            let pid = try mesh.pid(of: broker.name)
            #expect(kill(pid, 0) == 0, "\(broker.name) is gone after malformed traffic:\n\(mesh.log(of: broker.name).suffix(3_000))")
            // It serves every dialect's clients, and fresh workers of every dialect, at once.
            for client in MajordomoClientPeer.allCases {
                let echo = try await client.request(broker.bind, "echo", ["after-garbage"], timeout: 5)
                #expect(echo.final == ["after-garbage"], "\(client) through \(broker.name) after malformed traffic: \(echo)")
            }
            for peer in MajordomoWorkerPeer.allCases {
                let service = "fresh-\(peer)-\(broker.name)"
                let worker = try peer.start(workers, service, mode: "upper", name: service)
                try await MDP.waitForReady(worker)
                let reply = try await peer.client.request(broker.bind, service, ["ok"], timeout: 5)
                #expect(reply.final == ["OK"], "a fresh \(peer) worker at \(broker.name) after malformed traffic: \(reply)")
                #expect(!worker.log.contains("VIOLATION"), "\(worker.log)")
                await worker.stop()
            }
        }
        await mesh.down()
    }
}
