import Foundation
import Testing
@testable import ZMesh
import ZMeshTestSupport

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
        // The streaming method: a countdown, in order, from one instance.
        let counted = try await runCommand(binary, [mesh.file, "Ada", "3"], environment: mesh.environment)
        let ticks = counted.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: " ").first.map(String.init) ?? "" }
        #expect(ticks == ["3", "2", "1", "0"], "\(counted.stdout)")
        // What the mesh serves, as every instance describes itself.
        let listed = try await mesh.zmesh(["ls"])
        #expect(listed.status == 0, "\(listed.stderr)")
        let rows = listed.stdout.split(separator: "\n").filter { $0.hasPrefix("greeter ") }
        #expect(rows.count == 2, "\(listed.stdout)")
        #expect(rows.first?.contains("greeter.countdown  server-streaming  GreeterAPI.CountdownRequest  GreeterAPI.CountdownTick") == true,
                "\(listed.stdout)")
        let row = rows.last.map {
            $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        }
        #expect(row == ["greeter", "greeter.hello", "unary", "GreeterAPI.HelloRequest", "GreeterAPI.HelloReply",
                        "greeter-1,", "greeter-2"], "\(listed.stdout)")
        let described = try await mesh.zmesh(["describe", "greeter", "--json"])
        #expect(described.status == 0, "\(described.stderr)")
        let descriptions = try JSONDecoder().decode([NodeDescription].self, from: Data(described.stdout.utf8))
        #expect(descriptions.map(\.node).sorted() == ["greeter-1", "greeter-2"])
        #expect(descriptions.allSatisfy { $0.methods.map(\.name) == ["greeter.countdown", "greeter.hello"] })
        #expect(descriptions.allSatisfy { $0.methods.first?.kind == .serverStreaming })
        let unknown = try await mesh.zmesh(["describe", "nosuch"])
        #expect(unknown.status == 4 && unknown.stderr.contains("no live instance serves nosuch"), "\(unknown.stderr)")
        // With --json, errors are JSON too: one object on standard error.
        let unknownJSON = try await mesh.zmesh(["describe", "nosuch", "--json"])
        let report = try JSONSerialization.jsonObject(with: Data(unknownJSON.stderr.utf8)) as? [String: Any]
        #expect(unknownJSON.status == 4 && report?["code"] as? String == "unavailable"
                && (report?["message"] as? String)?.contains("no live instance serves nosuch") == true, "\(unknownJSON.stderr)")
        await client.shutdown()
        await mesh.down()
        // No registry answers now: one JSON error naming the file, exit 4.
        let nobody = try await mesh.zmesh(["ls", "--json"])
        let lookup = try JSONSerialization.jsonObject(with: Data(nobody.stderr.utf8)) as? [String: Any]
        #expect(nobody.status == 4 && nobody.stdout.isEmpty
                && (lookup?["message"] as? String)?.contains("no registry of") == true, "\(nobody.stderr)")
    }

    /// The interceptor example: with GREETER_TOKEN set, the service refuses calls without the
    /// token (before its handler runs) and the example client, given it, gets through, for
    /// its call and for its stream.
    @Test func theBearerTokenInterceptorsGuardTheGreeterOnBothSides() async throws {
        let mesh = try await MeshUnderTest("topologies/greeter.yaml",
                                           extraEnvironment: ["GREETER_TOKEN": "s3cret", "ZMESH_LOG_FORMAT": "json"])
        defer { Task { await mesh.down() } }
        let client = try mesh.client()
        do {
            let _: HelloReply = try await client.call("greeter.hello", HelloRequest(name: "Eve"))
            Issue.record("a call without the token was served")
        } catch {
            #expect(error.code == .application && error.applicationCode == 401)
            #expect(error.message == "greeter.hello needs a valid bearer token")
        }
        var options = CallOptions()
        options.metadata["authorization"] = "Bearer s3cret"
        let reply: HelloReply = try await client.call("greeter.hello", HelloRequest(name: "Ada"), options: options)
        #expect(reply.message == "Hello, Ada!")
        let binary = URL(fileURLWithPath: try Repository.zmeshBinary()).deletingLastPathComponent()
            .appendingPathComponent("GreeterClient").path
        let withToken = try await runCommand(binary, [mesh.file, "Ada", "2"], environment: mesh.environment)
        #expect(withToken.stdout.hasPrefix("Hello, Ada! (from greeter-"), "\(withToken.stdout) \(withToken.stderr)")
        let ticks = withToken.stdout.split(separator: "\n").dropFirst().map { $0.prefix { $0 != " " } }
        #expect(ticks == ["2", "1", "0"], "the countdown stream carries the token too: \(withToken.stdout)")
        var wrong = mesh.environment
        wrong["GREETER_TOKEN"] = "guess"
        let withWrongToken = try await runCommand(binary, [mesh.file, "Ada"], environment: wrong)
        #expect(withWrongToken.stdout.contains("needs a valid bearer token"), "\(withWrongToken.stdout)")
        // A traced call's log line carries its trace id: the refusal, logged by the interceptor
        // through the request's logger, in the node's JSON log.
        let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
        let refused = try await mesh.zmesh(["call", "greeter.hello", #"{"name":"Mallory"}"#,
                                            "--traceparent", "00-\(traceID)-00f067aa0ba902b7-01"])
        #expect(refused.status != 0 && refused.stderr.contains("needs a valid bearer token"), "\(refused.stderr)")
        let logged = await eventually {
            ["greeter-1", "greeter-2"].map { mesh.log(of: $0) }.joined().split(separator: "\n").contains { line in
                line.contains("refused a call without a valid token") && line.contains(#""trace_id":"\#(traceID)""#)
            }
        }
        #expect(logged, "no JSON line with the trace id in: \(mesh.log(of: "greeter-1"))\(mesh.log(of: "greeter-2"))")
        await client.shutdown()
        await mesh.down()
    }
}
