import Foundation
import Testing
@testable import ZMesh
import ZMeshTestSupport

/// CURVE meshes started by scripts/mesh-up.sh, keys made by zmesh keygen.
@Suite("Secured meshes from topology files", .serialized, .oneMeshAtATime)
struct SecureMeshTests {
    /// A copy of `fixture` in a fresh directory, with keys for every node and client, plus an
    /// "intruder" key pair in the same directory that the file does not list.
    private func prepare(_ fixture: String) async throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("zmesh-secure-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("mesh.yaml").path
        try FileManager.default.copyItem(atPath: Repository.root.appendingPathComponent(fixture).path, toPath: file)
        let zmesh = try Repository.zmeshBinary()
        let keygen = try await runCommand(zmesh, ["keygen", "--config", file])
        #expect(keygen.status == 0, "\(keygen.stderr)")
        let intruder = try await runCommand(zmesh, ["keygen", "intruder", "--dir", directory.appendingPathComponent("keys").path])
        #expect(intruder.status == 0)
        return file
    }

    @Test(arguments: ["Tests/Fixtures/secure-brokerless.yaml", "Tests/Fixtures/secure-brokered.yaml"])
    func allowedClientsCallAndOthersAreRefused(fixture: String) async throws {
        let file = try await prepare(fixture)
        let mesh = try await MeshUnderTest(file)
        defer { Task { await mesh.down() } }

        // The listed client: calls work, from Swift and the command line.
        let client = try MeshClient(topology: mesh.topology, logger: testLogger, clientKey: "ops")
        for index in 0..<50 { #expect(try await client.call("echo", "s\(index)".bytes).text == "s\(index)") }
        #expect(try await mesh.zmesh(["call", "kv.put", "secret=42", "--key", "ops"]).status == 0)
        #expect(try await mesh.zmesh(["call", "kv.get", "secret", "--key", "ops"]).stdout == "42")

        // A key in the same directory but not in the file: refused, exit code 12 (forbidden).
        let refused = try await mesh.zmesh(["call", "echo", "hello", "--key", "intruder", "--timeout", "5"])
        #expect(refused.status == 12, "\(refused.stdout) \(refused.stderr)")
        #expect(refused.stdout.isEmpty)
        #expect(refused.stderr.contains("refused"))
        // The mesh logged the refusal.
        let entry = mesh.topology.kind == .brokered ? "broker-1" : "registry-1"
        #expect(await eventually { mesh.log(of: entry).contains("refused a peer") }, "\(mesh.log(of: entry))")

        // The listed client still works after the attempt.
        #expect(try await client.call("echo", "after".bytes).text == "after")
        await client.shutdown()
        await mesh.down()
    }
}
