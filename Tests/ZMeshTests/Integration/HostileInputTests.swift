import Foundation
import Testing
@testable import ZMesh
import ZMeshTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A peer written in Python with pyzmq (Tests/Peers/hostile.py, which encodes the protocol
/// from docs/PROTOCOL.md, and Majordomo from RFC 18, on its own) sends random and mutated
/// frames to every node of a mesh for a bounded time. Afterwards every node must be alive,
/// serve correct calls, and not have grown by more than a small bound.
///
/// To repeat or narrow down a failure: `ZMESH_HOSTILE_SEED=N` sets the seed, and
/// `ZMESH_HOSTILE_ARGS="--kinds a,b --max-messages M"` passes options to the peer.
@Suite("Hostile input from a pyzmq peer", .serialized, .oneMeshAtATime)
struct HostileInputTests {
    static let topologies = ["topologies/brokerless.yaml", "topologies/brokered.yaml"]

    /// How long the peer sends, in seconds.
    static let attackSeconds = 8
    /// Most a node's resident set may grow from before the attack to after the checks.
    static let rssBoundKiB = 32 * 1024
    /// Most the mesh may take, after the peer stops, to answer a correct call again.
    static let recoveryBound: Duration = .seconds(10)

    @Test(arguments: topologies)
    func everyNodeSurvivesAndServesAfterHostileInput(file: String) async throws {
        try await Self.requirePyzmq()
        let mesh = try await MeshUnderTest(file)
        defer { Task { await mesh.down() } }
        let client = try mesh.client()
        let nodes = mesh.topology.nodes.map(\.name)

        // Warm up with good calls, so what is measured below is growth from hostile input only.
        let warmUp = await Self.correctCalls(client, count: 200, tag: "warm")
        #expect(warmUp.isEmpty, "warm-up calls failed: \(warmUp.prefix(5))")
        var rssBefore: [String: Int] = [:]
        for node in nodes { rssBefore[node] = try residentKiB(of: mesh.pid(of: node)) }

        // Every ROUTER a stranger can reach: registries, brokers (and their worker ports), services.
        let topology = mesh.topology
        let endpoints = topology.registries.map(\.bind)
            + topology.brokers.flatMap { [$0.bind] + ($0.workers.map { [$0] } ?? []) }
            + topology.services.map(\.bind)
        let seed = Self.seed(for: file)
        // $ZMESH_HOSTILE_ARGS adds options to narrow a failure down (--kinds, --max-messages...).
        let extra = (ProcessInfo.processInfo.environment["ZMESH_HOSTILE_ARGS"] ?? "").split(separator: " ").map(String.init)
        let arguments = [Repository.root.appendingPathComponent("Tests/Peers/hostile.py").path,
                         "--seconds", String(Self.attackSeconds), "--seed", String(seed)] + extra + endpoints
        let peer = try await runCommand("/usr/bin/env", ["python3"] + arguments,
                                        timeout: .seconds(Self.attackSeconds + 60))
        let summary = peer.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(peer.status == 0, "hostile.py exited \(peer.status):\n\(peer.stdout)\n\(peer.stderr)")
        print("HOSTILE \(topology.kind.rawValue) seed \(seed) peer: \(summary)")
        let reproduce = "seed \(seed); the peer alone: python3 \(arguments.joined(separator: " "))"

        // Every node is still there.
        var dead: [String] = []
        for node in nodes {
            let pid = try mesh.pid(of: node)
            if kill(pid, 0) != 0 {
                dead.append(node)
                Issue.record("""
                    \(node) (pid \(pid)) is gone after hostile input (\(reproduce)). Its log ends:
                    \(mesh.log(of: node).suffix(4_000))
                    """)
            }
        }

        // The mesh answers correct calls again soon after the peer stops...
        let stopped = ContinuousClock.now
        let probe = "hostile-probe-\(UUID().uuidString)"
        let recovered = await eventually(timeout: .seconds(60)) {
            (try? await client.call("echo", probe.bytes, options: CallOptions(timeout: .seconds(2))))?.text == probe
        }
        let recovery = ContinuousClock.now - stopped
        #expect(recovery < Self.recoveryBound, """
            the first correct call after the hostile peer stopped took \
            \(recovery.formatted(.units(allowed: [.milliseconds]))) (\(reproduce))
            """)

        // ...and then every one of 500 correct calls succeeds with its own answer.
        if recovered {
            let failures = await Self.correctCalls(client, count: 500, tag: "after")
            #expect(failures.isEmpty, "\(failures.count) of 500 correct calls failed after hostile input (\(reproduce)): \(failures.prefix(5))")
        } else {
            Issue.record("no correct echo call succeeded within 60 s after the hostile peer stopped (\(reproduce))")
        }

        let status = try await mesh.zmesh(["status"])
        #expect(status.status == 0, "zmesh status exited \(status.status): \(status.stderr)")

        // Each node noticed, and its resident set stayed within the bound.
        for node in nodes where !dead.contains(node) {
            let log = mesh.log(of: node)
            #expect(log.contains("dropped malformed message"), "\(node) logged no dropped malformed message")
            let before = rssBefore[node] ?? 0
            let after = try residentKiB(of: mesh.pid(of: node))
            let grown = after - before
            print("HOSTILE \(topology.kind.rawValue) \(node): RSS \(before) -> \(after) KiB (\(grown >= 0 ? "+" : "")\(grown) KiB), "
                  + "recovery \(recovery.formatted(.units(allowed: [.milliseconds])))")
            #expect(grown < Self.rssBoundKiB,
                    "\(node) RSS grew by \(grown) KiB (\(before) -> \(after) KiB) under hostile input; bound \(Self.rssBoundKiB) KiB (\(reproduce))")
        }
        await client.shutdown()
        await mesh.down()
    }

    /// Fails, not skips, when python3 or pyzmq is missing: scripts/test.sh installs them.
    static func requirePyzmq() async throws {
        let check = try await runCommand("/usr/bin/env", ["python3", "-c", "import zmq"], timeout: .seconds(30))
        try #require(check.status == 0, """
            the hostile-input test needs python3 with pyzmq (python3 -c "import zmq" exited \(check.status): \
            \(check.stderr.trimmingCharacters(in: .whitespacesAndNewlines))); scripts/test.sh installs it, \
            or run python3 -m pip install pyzmq
            """)
    }

    /// `$ZMESH_HOSTILE_SEED` if set (to repeat a run), else a fixed seed per topology.
    static func seed(for file: String) -> Int {
        if let text = ProcessInfo.processInfo.environment["ZMESH_HOSTILE_SEED"], let seed = Int(text) { return seed }
        return file.contains("brokered") ? 20_002 : 10_001
    }

    /// `count` correct calls by name, eight at a time: echoes with unique payloads, and
    /// kv.put of a unique key then kv.get of it (each a call). Returns a description of each failure.
    static func correctCalls(_ client: MeshClient, count: Int, tag: String) async -> [String] {
        let failures = Locked<[String]>([])
        let run = UUID().uuidString.prefix(8)
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var put: (key: String, value: String)?
                    for (step, index) in stride(from: worker, to: count, by: 8).enumerated() {
                        do {
                            if step % 2 == 0 {
                                let payload = "\(tag)-\(run)-\(index)-\(UUID().uuidString)"
                                let reply = try await client.call("echo", payload.bytes).text
                                if reply != payload { failures.update { $0.append("echo \(payload) answered \(reply)") } }
                            } else if let (key, value) = put {
                                put = nil
                                let reply = try await client.call("kv.get", key.bytes).text
                                if reply != value { failures.update { $0.append("kv.get \(key) answered \(reply), not \(value)") } }
                            } else {
                                let key = "\(tag)-\(run)-\(index)"
                                let value = "value-\(index)-\(UUID().uuidString)"
                                let reply = try await client.call("kv.put", "\(key)=\(value)".bytes).text
                                if reply == "OK" { put = (key, value) } else { failures.update { $0.append("kv.put \(key) answered \(reply)") } }
                            }
                        } catch {
                            failures.update { $0.append("call \(index): \(error)") }
                        }
                    }
                }
            }
        }
        return failures.value
    }
}
