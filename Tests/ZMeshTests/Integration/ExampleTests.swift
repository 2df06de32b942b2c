import Foundation
import Testing
@testable import ZMesh

/// The Greeter example, run as nodes of topologies/greeter.yaml by scripts/mesh-up.sh.
@Suite("Examples", .serialized, .oneMeshAtATime)
struct ExampleTests {
    struct HelloRequest: Codable { let name: String }
    struct HelloReply: Codable { let message: String; let servedBy: String }

    @Test func theGreeterServiceAndClientWorkFromATopologyFile() async throws {
        let mesh = try await MeshUnderTest("topologies/greeter.yaml")
        defer { Task { await mesh.down() } }
        let client = try mesh.client()
        var servedBy = Set<String>()
        for index in 0..<40 {
            let reply: HelloReply = try await client.call("greeter.hello", HelloRequest(name: "n\(index)"))
            #expect(reply.message == "Hello, n\(index)!")
            servedBy.insert(reply.servedBy)
        }
        #expect(servedBy == ["greeter-1", "greeter-2"])
        do {
            let _: HelloReply = try await client.call("greeter.hello", HelloRequest(name: ""))
            Issue.record("an empty name must be refused")
        } catch {
            #expect(error.code == .application)
            #expect(error.applicationCode == 400)
        }
        // The example client, as a user runs it (ports shifted like the mesh's).
        let binary = URL(fileURLWithPath: try Repository.zmeshBinary()).deletingLastPathComponent()
            .appendingPathComponent("GreeterClient").path
        let run = try await runCommand(binary, [mesh.file, "Ada"], environment: mesh.environment)
        #expect(run.status == 0)
        #expect(run.stdout.hasPrefix("Hello, Ada! (from greeter-"))
        await client.shutdown()
        await mesh.down()
    }
}
