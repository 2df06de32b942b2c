import Foundation
import Testing
@testable import ZMesh
import ZMeshTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Graceful shutdown: SIGTERM drains a node (it leaves the registry at once, refuses new calls
/// so clients send them elsewhere, finishes what it holds) and it exits 0. Restarting every
/// echo instance in turn under load loses no call.
@Suite("Rolling restart under load", .serialized, .oneMeshAtATime)
struct RollingRestartTests {
    @Test(arguments: ["topologies/brokerless.yaml", "topologies/brokered.yaml"])
    func restartingEveryEchoInstanceInTurnLosesNoCall(file: String) async throws {
        let mesh = try await MeshUnderTest(file)
        defer { Task { await mesh.down() } }
        let client = try mesh.client()
        let watcher = try MeshClient(configuration: .init(discovery: .registries(mesh.topology.registryAddresses)),
                                     logger: testLogger)
        // echo.count with fresh keys: a reply other than 1 means a call ran twice.
        let load = CallLoad(concurrency: 16) { worker, index in
            try await client.call("echo.count", "w\(worker)-\(index)".bytes, options: CallOptions(timeout: .seconds(15))).text == "1"
        }
        #expect(await eventually { load.succeeded.value >= 500 })

        for node in ["echo-1", "echo-2"] {
            let pid = try mesh.pid(of: node)
            let before = load.succeeded.value
            #expect(Glibc.kill(pid, SIGTERM) == 0)
            // It leaves the registry at once (well before three heartbeats would evict it).
            #expect(await eventually(timeout: .milliseconds(1_000)) {
                await (try? watcher.instances(of: "echo"))?.contains(where: { $0.node == node }) == false
            }, "\(node) did not leave the registry promptly")
            // It exits (mesh-up.sh started it as a daemon, so its status is not ours to see;
            // ServeProcessTests checks that zmesh exits 0 on SIGTERM).
            #expect(await eventually(timeout: .seconds(15)) { Glibc.kill(pid, 0) != 0 || Self.isZombie(pid) })
            #expect(mesh.log(of: node).contains("left the registries"))
            // Calls kept succeeding while it was gone.
            #expect(await eventually { load.succeeded.value > before + 200 })
            try mesh.restart(node)
            #expect(await eventually(timeout: .seconds(15)) {
                await (try? watcher.instances(of: "echo"))?.contains(where: { $0.node == node }) == true
            }, "\(node) did not come back")
        }
        #expect(await eventually { load.succeeded.value > 2_000 })
        await load.finish()
        #expect(load.failures.value.isEmpty, "\(load.failures.value.prefix(5))")
        #expect(load.wrong.value == 0)
        print("ROLLING \(mesh.topology.kind.rawValue): \(load.succeeded.value) calls, 0 lost, while echo-1 and echo-2 were restarted in turn")
        await client.shutdown()
        await watcher.shutdown()
        await mesh.down()
    }

    @Test func aNodeStoppedWithSIGTERMExitsZeroAfterFinishingItsCalls() async throws {
        let mesh = try await MeshUnderTest("Tests/Fixtures/busy.yaml")
        defer { Task { await mesh.down() } }
        let client = try mesh.client()
        let held = Task { try await client.call("sleep", "1500".bytes, options: CallOptions(timeout: .seconds(20))) }
        #expect(await eventually { await (try? client.instances(of: "sleep"))?.first?.load == 1 })
        let pid = try mesh.pid(of: "sleep-1")
        #expect(Glibc.kill(pid, SIGTERM) == 0)
        // The call it held still gets its reply.
        #expect(try await held.value.text == "1500")
        #expect(await eventually(timeout: .seconds(15)) { Glibc.kill(pid, 0) != 0 || Self.isZombie(pid) })
        #expect(mesh.log(of: "sleep-1").contains("node stopped"))
        await client.shutdown()
        await mesh.down()
    }

    /// A crashed instance restarted by a supervisor comes back at the same endpoint before the
    /// registry evicts the old one, while the client's old connection waits out libzmq's
    /// reconnect back-off (a second by default; here a minute, so the test cannot pass by
    /// luck). A call made once the registry lists the new instance must reach it, not fail
    /// as unreachable.
    @Test func anInstanceRestartedAfterACrashTakesCallsAsSoonAsItIsAnnounced() async throws {
        let mesh = try await MeshUnderTest("Tests/Fixtures/slow-eviction.yaml")
        defer { Task { await mesh.down() } }
        let client = try mesh.client { $0.reconnectBackOff = (.seconds(60), .seconds(60)) }
        #expect(try await client.call("sleep", "1".bytes).text == "1")
        let before = try #require(try await client.instances(of: "sleep").first?.instance)
        try await mesh.kill9("sleep-1")
        try mesh.restart("sleep-1")
        #expect(await eventually(timeout: .seconds(15)) {
            await (try? client.instances(of: "sleep"))?.contains(where: { $0.instance != before && $0.health == .live }) == true
        }, "sleep-1 did not come back")
        let reply = try await client.call("sleep", "2".bytes, options: CallOptions(timeout: .seconds(10)))
        #expect(reply.text == "2")
        #expect(!mesh.log(of: "registry-1").contains("evicted"))
        await client.shutdown()
        await mesh.down()
    }

    static func isZombie(_ pid: Int32) -> Bool {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        return status.split(separator: " ").dropFirst(2).first == "Z"
    }
}
