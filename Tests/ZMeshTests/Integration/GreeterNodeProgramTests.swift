import Foundation
import Testing
@testable import ZMesh
import ZMeshTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Examples/GreeterService on ZMeshNodeProgram: the command line of `zmesh node` (an unknown
/// flag is an error naming it) and its drain, under load, as a rolling restart needs.
@Suite("GreeterService as a node program", .serialized, .oneMeshAtATime)
struct GreeterNodeProgramTests {
    struct HelloRequest: Codable { let name: String }
    struct HelloReply: Codable { let message: String; let servedBy: String }

    static func greeterBinary() throws -> String {
        URL(fileURLWithPath: try Repository.zmeshBinary()).deletingLastPathComponent()
            .appendingPathComponent("GreeterService").path
    }

    /// A greeting for someone else: counted with the failed calls.
    struct WrongReply: Error, CustomStringConvertible { let description: String }

    @Test func restartingEachGreeterInTurnUnderLoadLosesNoCall() async throws {
        let mesh = try await MeshUnderTest("topologies/greeter.yaml")
        defer { Task { await mesh.down() } }
        let client = try mesh.client()
        let watcher = try mesh.client()
        func listed(_ node: String) async -> Bool? {
            await (try? watcher.instances(of: "greeter"))?.contains { $0.node == node }
        }
        let load = CallLoad(concurrency: 8) { worker, index in
            let name = "w\(worker)-\(index)"
            let reply: HelloReply = try await client.call("greeter.hello", HelloRequest(name: name), options: CallOptions(timeout: .seconds(15)))
            guard reply.message == "Hello, \(name)!" else { throw WrongReply(description: "wrong reply \(reply.message) for \(name)") }
            return true
        }
        #expect(await eventually(timeout: .seconds(15)) { load.succeeded.value >= 300 })

        // mesh-up.sh's instances, one at a time: SIGTERM, gone from the registry, exited,
        // the drain in its log; then started again as mesh-up.sh starts it.
        var restarted: [String: ChildProcess] = [:]
        for node in ["greeter-1", "greeter-2"] {
            let pid = try mesh.pid(of: node)
            let before = load.succeeded.value
            #expect(Glibc.kill(pid, SIGTERM) == 0)
            #expect(await eventually(timeout: .seconds(1)) { await listed(node) == false }, "\(node) did not leave the registry promptly")
            #expect(await eventually(timeout: .seconds(15)) { Glibc.kill(pid, 0) != 0 || RollingRestartTests.isZombie(pid) },
                    "\(node) did not exit")
            let log = mesh.log(of: node)
            #expect(log.contains("left the registries") && log.contains("node stopped"), "\(log)")
            #expect(await eventually(timeout: .seconds(15)) { load.succeeded.value > before + 200 })
            restarted[node] = try mesh.restart(node)
            #expect(await eventually(timeout: .seconds(15)) { await listed(node) == true }, "\(node) did not come back")
        }

        // A restarted instance is this test's child (started by Foundation's Process from a
        // Swift concurrency thread, which blocks SIGTERM): its exit status is ours to see.
        let second = try #require(restarted["greeter-1"])
        let before = load.succeeded.value
        second.signal(SIGTERM)
        #expect(await second.waitForExit(timeout: .seconds(15)) == 0, "greeter-1 did not exit 0: \(second.log)")
        #expect(second.log.contains("left the registries") && second.log.contains("node stopped"), "\(second.log)")
        #expect(await eventually(timeout: .seconds(15)) { load.succeeded.value > before + 200 })

        await load.finish()
        #expect(load.failures.value.isEmpty, "\(load.failures.value.prefix(5))")
        print("ROLLING greeter: \(load.succeeded.value) greeter.hello calls, \(load.failures.value.count) lost, while greeter-1, greeter-2, then greeter-1 again were stopped")
        await client.shutdown()
        await watcher.shutdown()
        await mesh.down()
    }

    @Test func anUnknownFlagIsAUsageErrorNamingIt() async throws {
        let greeter = try Self.greeterBinary()
        let file = Repository.root.appendingPathComponent("topologies/greeter.yaml").path
        let unknown = try await runCommand(greeter, ["--node", "greeter-1", "--config", file, "--bogus-flag"], timeout: .seconds(20))
        #expect(unknown.status == 64, "exit \(unknown.status): \(unknown.stderr)")
        #expect(unknown.stderr.contains("--bogus-flag"), "\(unknown.stderr)")
        // The rest of zmesh node's command line: a name is needed, a bad log format is named.
        let nameless = try await runCommand(greeter, ["--config", file], timeout: .seconds(20))
        #expect(nameless.status == 64 && nameless.stderr.contains("say which node"), "\(nameless.stderr)")
        let badFormat = try await runCommand(greeter, ["greeter-1", "--config", file, "--log-format", "yaml"], timeout: .seconds(20))
        #expect(badFormat.status == 64 && badFormat.stderr.contains("yaml"), "\(badFormat.stderr)")
        let noSuchNode = try await runCommand(greeter, ["greeter-9", "--config", file], timeout: .seconds(20))
        #expect(noSuchNode.status == 78 && noSuchNode.stderr.contains("greeter-9"), "\(noSuchNode.stderr)")
        // zmesh node shares the options group.
        let zmesh = try await runCommand(try Repository.zmeshBinary(), ["node", "echo-1", "--config", file, "--bogus-flag"])
        #expect(zmesh.status == 64 && zmesh.stderr.contains("--bogus-flag"), "\(zmesh.stderr)")
    }
}
