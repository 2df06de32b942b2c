import Foundation
import Testing
@testable import ZMesh
import ZMeshTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `zmesh call`'s request body sources, metadata and JSON errors, with the real binary as a
/// process against a real `zmesh serve` (and a node of this test's own where the built-in
/// services cannot show what arrived).
@Suite("zmesh call: --file, --metadata, --json", .serialized, .oneMeshAtATime)
struct CallCommandTests {
    @Test func theBodyComesFromAFileOrFromStandardInput() async throws {
        let (server, endpoint) = try await startServe(name: "file-1")
        let zmesh = try Repository.zmeshBinary()
        let body = "from a file\nsecond line, and bytes: \u{1}\u{7f}"
        let file = temporaryFile("body", contents: body)
        defer { try? FileManager.default.removeItem(atPath: file) }

        let fromFile = try await runCommand(zmesh, ["call", "echo", "--file", file, "--endpoint", endpoint])
        #expect(fromFile.status == 0, "\(fromFile.stderr)")
        #expect(fromFile.stdout == body)

        let fromStdin = try await runCommand(zmesh, ["call", "echo", "--file", "-", "--endpoint", endpoint], input: URL(fileURLWithPath: file))
        #expect(fromStdin.status == 0, "\(fromStdin.stderr)")
        #expect(fromStdin.stdout == body)

        // Both a payload and a file, or a file that is not there: usage errors that say why.
        let both = try await runCommand(zmesh, ["call", "echo", "hi", "--file", file, "--endpoint", endpoint])
        #expect(both.status == 64)
        #expect(both.stderr.contains("--file"))
        let missing = try await runCommand(zmesh, ["call", "echo", "--file", "/nonexistent/zmesh-body", "--endpoint", endpoint])
        #expect(missing.status == 64)
        #expect(missing.stderr.contains("/nonexistent/zmesh-body"))
        await stop(server)
    }

    @Test func metadataIsSentWithTheCallAndRepeatsInOrder() async throws {
        var handlers = ServiceHandlers()
        // Answers with the metadata it was sent, one KEY=VALUE a line.
        handlers.registerWithMetadata("meta.echo") { request, _ in
            let lines = request.metadata.map { "\($0.key)=\($0.stringValue ?? "?")" }
            return MeshReply(payload: Array(lines.joined(separator: "\n").utf8))
        }
        let (node, endpoint) = try await startTestNode(name: "meta-1", handlers: handlers)
        let zmesh = try Repository.zmeshBinary()
        let sent = try await runCommand(zmesh, ["call", "meta.echo", "--metadata", "tenant=acme", "--metadata", "tenant=beta",
                                                "--metadata", "region.zone=eu-1=a", "--endpoint", endpoint])
        #expect(sent.status == 0, "\(sent.stderr)")
        #expect(sent.stdout.split(separator: "\n") == ["tenant=acme", "tenant=beta", "region.zone=eu-1=a"])

        let bad = try await runCommand(zmesh, ["call", "meta.echo", "--metadata", "novalue", "--endpoint", endpoint])
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("KEY=VALUE"))
        await node.stop()
    }

    @Test func withJSONAFailureIsOneJSONObjectOnStandardError() async throws {
        let (server, endpoint) = try await startServe(name: "json-9")
        let zmesh = try Repository.zmeshBinary()

        let application = try await runCommand(zmesh, ["call", "kv.get", "nothing", "--json", "--endpoint", endpoint])
        #expect(application.status == 7)
        let report = try jsonObject(application.stderr)
        #expect(report["code"] as? String == "application")
        #expect(report["exit"] as? Int == 7)
        #expect(report["service"] as? String == "kv.get")
        #expect((report["message"] as? String)?.contains("no key") == true)
        #expect(report["applicationCode"] is Int)
        #expect(report["mayHaveRun"] as? Bool == true)
        #expect(application.stdout.isEmpty)

        let unknown = try await runCommand(zmesh, ["call", "nope", "--json", "--endpoint", endpoint])
        #expect(unknown.status == 8)
        let notFound = try jsonObject(unknown.stderr)
        #expect(notFound["code"] as? String == "notFound")
        #expect(notFound["service"] as? String == "nope")
        #expect(notFound["applicationCode"] == nil)

        let slow = try await runCommand(zmesh, ["call", "sleep", "3000", "--timeout", "0.2", "--json", "--endpoint", endpoint])
        #expect(slow.status == 3)
        #expect(try jsonObject(slow.stderr)["code"] as? String == "timeout")

        // Without --json, the same failure is the usual line of text.
        let text = try await runCommand(zmesh, ["call", "kv.get", "nothing", "--endpoint", endpoint])
        #expect(text.status == 7)
        #expect(text.stderr.hasPrefix("zmesh: application: kv.get:"))
        await stop(server)

        // zmesh ping --json and zmesh status --json fail the same way.
        let port = try freePorts(2)
        let ping = try await runCommand(zmesh, ["ping", "--endpoint", "tcp://127.0.0.1:\(port[0])", "--timeout", "0.5", "--json"])
        #expect(ping.status == 3 || ping.status == 4, "\(ping.stderr)")
        #expect(try jsonObject(ping.stderr)["service"] as? String == "mesh.health")
        let file = temporaryFile("topology.yaml", contents: """
            topology: brokerless
            registries:
              - { name: registry-1, bind: "tcp://127.0.0.1:\(port[0])", publish: "tcp://127.0.0.1:\(port[1])" }
            """)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let status = try await runCommand(zmesh, ["status", "--json", "--config", file])
        #expect(status.status == 3 || status.status == 4, "\(status.stderr)")
        #expect(try jsonObject(status.stderr)["service"] as? String == "mesh.status")
    }
}

/// A `zmesh serve` with echo, kv and sleep on a free port, answering.
func startServe(name: String) async throws -> (ChildProcess, String) {
    let endpoint = "tcp://127.0.0.1:\(try freePorts(1)[0])"
    let server = try ChildProcess(name: name, executable: try Repository.zmeshBinary(),
                                  arguments: ["serve", "--bind", endpoint, "--service", "echo", "--service", "kv",
                                              "--service", "sleep", "--name", name])
    let client = try makeClient([endpoint])
    let ready = await eventually(timeout: .seconds(20)) {
        (try? await client.call("echo", "ping".bytes, options: CallOptions(timeout: .milliseconds(500)))) != nil
    }
    await client.shutdown()
    guard ready else {
        await server.stop()
        throw ProcessFailure("zmesh serve did not answer: \(server.log)")
    }
    return (server, endpoint)
}

/// SIGTERM, and the exit status a drained `zmesh serve` gives (0).
func stop(_ server: ChildProcess) async {
    server.signal(SIGTERM)
    #expect(await server.waitForExit() == 0, "zmesh serve should exit 0 on SIGTERM: \(server.log)")
}

/// A file in the temporary directory holding `contents`; the caller removes it.
func temporaryFile(_ name: String, contents: String) -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("zmesh-\(UUID().uuidString)-\(name)").path
    _ = FileManager.default.createFile(atPath: path, contents: Data(contents.utf8))
    return path
}

/// `text` as exactly one line holding one JSON object.
func jsonObject(_ text: String) throws -> [String: Any] {
    let lines = text.split(separator: "\n")
    guard lines.count == 1, let object = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any] else {
        throw ProcessFailure("not one line of one JSON object: \(text)")
    }
    return object
}
