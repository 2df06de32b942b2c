import Foundation
import Testing
@testable import ZMesh
import ZMeshTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Majordomo (MDP/0.2, ZeroMQ RFC 18; MMI, RFC 8) against the real broker, with peers written
/// in Python from the RFC texts alone (Tests/Peers/mdp.py and the command-line peers around
/// it): they check every frame they get, so a reply that breaks the spec fails the test that
/// saw it. What ZMesh adds to the spec (status frames, expiry, dot-names, workers announced
/// to registries) is in docs/INTEROP.md.
@Suite("Majordomo interoperability", .serialized, .oneMeshAtATime)
struct MajordomoTests {
    static let topologies = ["topologies/brokered.yaml", "topologies/ha.yaml"]

    // MARK: - MDP clients calling Swift services

    @Test(arguments: topologies)
    func anMDPClientCallsSwiftServicesThroughEveryBroker(file: String) async throws {
        try await MDP.requirePyzmq()
        let mesh = try await MeshUnderTest(file)
        defer { Task { await mesh.down() } }
        let run = UUID().uuidString.prefix(8)
        for (index, broker) in mesh.topology.brokers.enumerated() {
            let body = "hello-\(broker.name)-\(run)"
            let echo = try await MDP.request(broker.bind, "echo", [body])
            #expect(echo.final == [body], "echo through \(broker.name): \(echo)")
            #expect(echo.partials.isEmpty, "echo through \(broker.name): \(echo)")

            let key = "mdp-\(run)-\(index)"
            let put = try await MDP.request(broker.bind, "kv.put", ["\(key)=value-\(index)"])
            #expect(put.final == ["OK"], "kv.put through \(broker.name): \(put)")
            // Read it back through every broker: one kv, whichever broker the client uses.
            for other in mesh.topology.brokers {
                let get = try await MDP.request(other.bind, "kv.get", [key])
                #expect(get.final == ["value-\(index)"], "kv.get through \(other.name) after kv.put through \(broker.name): \(get)")
            }
            // A missing key is an application error: FINAL [status, message].
            let missing = try await MDP.request(broker.bind, "kv.get", ["no-such-key-\(run)"])
            let status = missing.final.first.flatMap { Int($0) }
            #expect(missing.final.count == 2 && status != nil && status! >= 400,
                    "kv.get of a missing key through \(broker.name) should be FINAL [status >= 400, message]: \(missing)")
        }
        await mesh.down()
    }

    // MARK: - An MDP worker serving native and MDP clients

    @Test(arguments: topologies)
    func anMDPWorkerServesNativeAndMDPClients(file: String) async throws {
        try await MDP.requirePyzmq()
        let mesh = try await MeshUnderTest(file)
        defer { Task { await mesh.down() } }
        let home = mesh.topology.brokers[0]
        let worker = try MDP.worker(try #require(home.workers), "upper", mode: "upper", name: "upper-1")
        try await MDP.waitForReady(worker)

        for broker in mesh.topology.brokers {
            // Native Swift client through this broker (in ha.yaml broker-2 forwards to broker-1).
            let client = try mesh.client { $0.discovery = .brokers([broker.bind]) }
            let body = "native via \(broker.name)"
            let served = await eventually(timeout: .seconds(20)) {
                (try? await client.call("upper", body.bytes, options: CallOptions(timeout: .seconds(2))))?.text == body.uppercased()
            }
            #expect(served, "a native call to the MDP worker's service through \(broker.name) never succeeded")
            #expect(try await client.call("upper", "again".bytes).text == "AGAIN")
            await client.shutdown()

            // MDP client through the same broker.
            let reply = try await MDP.request(broker.bind, "upper", ["mdp via \(broker.name)"])
            #expect(reply.final == ["MDP VIA \(broker.name.uppercased())"], "\(reply)")
            #expect(reply.partials.isEmpty)
            let mmi = try await MDP.request(broker.bind, "mmi.service", ["upper"])
            #expect(mmi.final == ["200"], "mmi.service upper through \(broker.name) with a worker up: \(mmi)")
        }
        MDP.expectClean(worker, requests: 3 * mesh.topology.brokers.count)

        // The worker says DISCONNECT on shutdown; the broker then has no worker for the name.
        await worker.stop()
        #expect(worker.log.contains("STOPPED"), "the worker did not stop cleanly:\n\(worker.log)")
        let gone = await eventually(timeout: .seconds(10)) {
            (try? await MDP.request(home.bind, "mmi.service", ["upper"]))?.final == ["404"]
        }
        #expect(gone, "mmi.service upper still not 404 on \(home.name) 10 s after its only worker sent DISCONNECT")
        await mesh.down()
    }

    // MARK: - PARTIAL

    @Test(arguments: topologies)
    func partialsReachTheMDPClientBeforeTheFinal(file: String) async throws {
        try await MDP.requirePyzmq()
        let mesh = try await MeshUnderTest(file)
        defer { Task { await mesh.down() } }
        let home = mesh.topology.brokers[0]
        let worker = try MDP.worker(try #require(home.workers), "parts", mode: "partials", name: "parts-1")
        try await MDP.waitForReady(worker)
        try await MDP.waitUntilServed(mesh, "parts")

        let reply = try await MDP.request(home.bind, "parts", ["job"])
        #expect(reply.partials == [["parts-1:part-1"], ["parts-1:part-2"]], "\(reply)")
        #expect(reply.final == ["parts-1:final:job"], "\(reply)")

        // Through the other broker (ha.yaml), which forwards to broker-1: the reply comes back
        // the same way, PARTIALs as PARTIALs and the FINAL as the worker's FINAL.
        for broker in mesh.topology.brokers.dropFirst() {
            let forwarded = try await MDP.request(broker.bind, "parts", ["far"])
            print("MDP-PARTIALS through \(broker.name) (worker on \(home.name)): \(forwarded)")
            #expect(forwarded.partials == [["parts-1:part-1"], ["parts-1:part-2"]], "through \(broker.name): \(forwarded)")
            #expect(forwarded.final == ["parts-1:final:far"], "through \(broker.name): \(forwarded)")
        }
        MDP.expectClean(worker, requests: mesh.topology.brokers.count)
        await worker.stop()
        await mesh.down()
    }

    // MARK: - Failover

    @Test(arguments: topologies)
    func aRequestWhoseWorkerIsKilledIsAnsweredByAnother(file: String) async throws {
        try await MDP.requirePyzmq()
        let mesh = try await MeshUnderTest(file)
        defer { Task { await mesh.down() } }
        let home = mesh.topology.brokers[0]
        let workers = try #require(home.workers)
        var pool = [try MDP.worker(workers, "slow", mode: "slow", name: "slow-a", delayMs: 1500),
                    try MDP.worker(workers, "slow", mode: "slow", name: "slow-b", delayMs: 1500)]
        for worker in pool { try await MDP.waitForReady(worker) }
        try await MDP.waitUntilServed(mesh, "slow")

        // An MDP client, through every broker (in ha.yaml broker-2 forwards to broker-1).
        for broker in mesh.topology.brokers {
            let job = "mdp-job-\(UUID().uuidString.prefix(8))"
            let client = try MDP.backgroundRequest(broker.bind, "slow", [job], timeout: 25)
            let (victim, survivor) = try await MDP.killTheOneThatGot(job, of: pool)
            let exited = await client.waitForExit(timeout: .seconds(30))
            let reply = try MDP.parse(client.log, status: exited ?? -1)
            #expect(exited == 0, "the MDP client did not get its FINAL after \(victim.name) was killed: \(client.log)")
            #expect(reply.final == ["\(survivor.name):\(job)"],
                    "through \(broker.name): \(victim.name) was killed holding \(job); expected \(survivor.name) to answer: \(reply)")
            await client.stop()
            // Replace the killed worker for the next round.
            pool = [survivor, try MDP.worker(workers, "slow", mode: "slow", name: "\(victim.name)-\(broker.name)", delayMs: 1500)]
            try await MDP.waitForReady(pool[1])
        }

        // The same with a native Swift client.
        for broker in mesh.topology.brokers {
            let native = try mesh.client { $0.discovery = .brokers([broker.bind]) }
            let job = "native-job-\(UUID().uuidString.prefix(8))"
            let pending = Task { try await native.call("slow", job.bytes, options: CallOptions(timeout: .seconds(25))).text }
            let (victim, survivor) = try await MDP.killTheOneThatGot(job, of: pool)
            let answer = await pending.result
            switch answer {
            case .success(let text):
                #expect(text == "\(survivor.name):\(job)", "native through \(broker.name): \(victim.name) was killed; got \(text)")
            case .failure(let error):
                Issue.record("native call through \(broker.name) failed after \(victim.name) was killed: \(error)")
            }
            await native.shutdown()
            pool = [survivor, try MDP.worker(workers, "slow", mode: "slow", name: "\(victim.name)-n-\(broker.name)", delayMs: 1500)]
            try await MDP.waitForReady(pool[1])
        }
        for worker in pool {
            #expect(!worker.log.contains("VIOLATION"), "\(worker.name) saw the broker break RFC 18:\n\(worker.log)")
            #expect(!worker.log.contains("RECONNECT"), "\(worker.name) lost the broker while it was up:\n\(worker.log)")
            await worker.stop()
        }
        await mesh.down()
    }

    // MARK: - Queueing and expiry

    @Test(arguments: topologies)
    func aRequestForAServiceNobodyServesWaitsForAWorkerOrExpires(file: String) async throws {
        try await MDP.requirePyzmq()
        let mesh = try await MeshUnderTest(file)
        defer { Task { await mesh.down() } }
        let home = mesh.topology.brokers[0]
        let entry = mesh.topology.brokers.last!   // broker-2 in ha.yaml: the worker will be on broker-1
        let queued = try MDP.backgroundRequest(entry.bind, "late", ["waited"], timeout: 20)
        try await MDP.waitForSent(queued)

        // RFC 18: the broker SHOULD queue it. Meanwhile it serves everyone else as usual.
        let client = try mesh.client { $0.discovery = .brokers([entry.bind]) }
        let started = ContinuousClock.now
        let native = try? await client.call("echo", "meanwhile".bytes, options: CallOptions(timeout: .seconds(5)))
        let nativeTook = ContinuousClock.now - started
        #expect(native?.text == "meanwhile", "a native echo through \(entry.name) failed while an MDP request was queued")
        #expect(nativeTook < .seconds(2), "a native echo took \(nativeTook) while an MDP request was queued at \(entry.name)")
        let mdpStarted = ContinuousClock.now
        let echo = try await MDP.request(entry.bind, "echo", ["meanwhile"], timeout: 5)
        let mdpTook = ContinuousClock.now - mdpStarted
        #expect(echo.final == ["meanwhile"], "\(echo)")
        #expect(mdpTook < .seconds(2), "an MDP echo took \(mdpTook) while another MDP request was queued at \(entry.name)")

        // A worker appears (on broker-1): the queued request is served.
        let worker = try MDP.worker(try #require(home.workers), "late", mode: "upper", name: "late-1")
        try await MDP.waitForReady(worker)
        let exited = await queued.waitForExit(timeout: .seconds(25))
        let reply = try MDP.parse(queued.log, status: exited ?? -1)
        #expect(exited == 0 && reply.final == ["WAITED"], "the queued request was not served once a worker came: \(queued.log)")
        await queued.stop()

        // Nobody ever serves this one: FINAL ["504", message] after the broker's expiry (10 s).
        let expiring = ContinuousClock.now
        let never = try await MDP.request(entry.bind, "never-\(UUID().uuidString.prefix(8))", ["x"], timeout: 20)
        let waited = ContinuousClock.now - expiring
        #expect(never.final.count == 2 && never.final.first == "504", "expected FINAL [504, message]: \(never)")
        #expect(waited >= .seconds(8) && waited < .seconds(15), "the unserved request expired after \(waited), not about 10 s")
        MDP.expectClean(worker, requests: 1)
        await worker.stop()
        await client.shutdown()
        await mesh.down()
    }

    // MARK: - MMI

    @Test(arguments: topologies)
    func mmiAnswersTwoHundredFourOhFourAndFiveOhOne(file: String) async throws {
        try await MDP.requirePyzmq()
        let mesh = try await MeshUnderTest(file)
        defer { Task { await mesh.down() } }
        for broker in mesh.topology.brokers {
            for known in ["echo", "kv"] {
                let reply = try await MDP.request(broker.bind, "mmi.service", [known])
                #expect(reply.final == ["200"], "mmi.service \(known) through \(broker.name): \(reply)")
            }
            let unknown = try await MDP.request(broker.bind, "mmi.service", ["nosuch-\(UUID().uuidString.prefix(8))"])
            #expect(unknown.final == ["404"], "mmi.service of an unknown name through \(broker.name): \(unknown)")
            for other in ["mmi.whatever", "mmi.workers", "mmi."] {
                let reply = try await MDP.request(broker.bind, other, ["echo"])
                #expect(reply.final == ["501"], "\(other) through \(broker.name): \(reply)")
            }
        }
        await mesh.down()
    }

    // MARK: - Malformed traffic

    @Test(arguments: topologies)
    func malformedMDPTrafficLeavesTheBrokerServing(file: String) async throws {
        try await MDP.requirePyzmq()
        let mesh = try await MeshUnderTest(file)
        defer { Task { await mesh.down() } }
        for broker in mesh.topology.brokers {
            let workers = try #require(broker.workers)
            let garbage = try await runCommand("/usr/bin/env", ["python3", MDP.peer("mdp_garbage.py"),
                                                                "--frontend", broker.bind, "--workers", workers,
                                                                "--seconds", "3", "--seed", "18"],
                                               timeout: .seconds(60))
            let line = garbage.stdout.split(separator: "\n").last.map(String.init) ?? ""
            let summary = try? JSONDecoder.snakeCase.decode(GarbageSummary.self, from: Data(line.utf8))
            print("MDP-GARBAGE \(broker.name): disconnected \(summary?.disconnected ?? []), "
                  + "missing required DISCONNECT \(summary?.missingRequiredDisconnect ?? []), random \(summary?.random.map { "\($0)" } ?? "-")")
            #expect(garbage.status == 0, """
                mdp_garbage.py against \(broker.name) exited \(garbage.status): a requirement of RFC 18/8 did not hold.
                missing required DISCONNECT: \(summary?.missingRequiredDisconnect ?? [])
                commands after DISCONNECT: \(summary?.commandsAfterDisconnect ?? [:])
                invalid from broker: \(summary?.invalidFromBroker ?? [:])
                \(garbage.stderr)
                """)

            let pid = try mesh.pid(of: broker.name)
            #expect(kill(pid, 0) == 0, "\(broker.name) is gone after malformed MDP traffic:\n\(mesh.log(of: broker.name).suffix(3_000))")
            let log = mesh.log(of: broker.name)
            #expect(log.contains("dropped malformed message") || log.contains("disconnecting a Majordomo worker"),
                    "\(broker.name) logged nothing about the malformed traffic")

            // Normal MDP and native calls work again, soon.
            let stopped = ContinuousClock.now
            let mdpOK = await eventually(timeout: .seconds(30)) {
                (try? await MDP.request(broker.bind, "echo", ["after-garbage"], timeout: 3))?.final == ["after-garbage"]
            }
            let client = try mesh.client { $0.discovery = .brokers([broker.bind]) }
            let nativeOK = await eventually(timeout: .seconds(30)) {
                (try? await client.call("echo", "after".bytes, options: CallOptions(timeout: .seconds(3))))?.text == "after"
            }
            let recovery = ContinuousClock.now - stopped
            print("MDP-GARBAGE \(broker.name): MDP and native echo answered \(recovery.formatted(.units(allowed: [.milliseconds]))) after the garbage stopped")
            #expect(mdpOK && nativeOK, "after malformed traffic \(broker.name) does not serve (MDP \(mdpOK), native \(nativeOK))")
            #expect(recovery < .seconds(5), "\(broker.name) took \(recovery) to serve again after malformed MDP traffic")
            await client.shutdown()

            // A fresh well-behaved worker is served too.
            let worker = try MDP.worker(workers, "fresh", mode: "upper", name: "fresh-\(broker.name)")
            try await MDP.waitForReady(worker)
            let served = await eventually(timeout: .seconds(15)) {
                (try? await MDP.request(broker.bind, "fresh", ["ok"], timeout: 3))?.final == ["OK"]
            }
            #expect(served, "a worker that connected to \(broker.name) after malformed traffic is not served:\n\(worker.log)")
            #expect(!worker.log.contains("VIOLATION"), "\(worker.log)")
            await worker.stop()
        }
        await mesh.down()
    }
}
