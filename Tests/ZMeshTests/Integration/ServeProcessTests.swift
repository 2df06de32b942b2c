import Foundation
import Testing
@testable import ZMesh
import ZMeshTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Real `zmesh serve` processes called from Swift and from `zmesh call`.
@Suite("zmesh serve and zmesh call as processes", .serialized, .oneMeshAtATime)
struct ServeProcessTests {
    @Test func serveAnswersCallsFromSwiftAndTheCommandLine() async throws {
        let zmesh = try Repository.zmeshBinary()
        let (server, endpoint, client) = try await startServe("serve", ["--service", "echo", "--service", "kv",
                                                                        "--service", "sleep", "--name", "echo-9"])

        #expect(try await client.call("echo.whoami", []).text == "echo-9")

        let echo = try await runCommand(zmesh, ["call", "echo", "hello", "--endpoint", endpoint])
        #expect(echo.status == 0)
        #expect(echo.stdout == "hello")

        let put = try await runCommand(zmesh, ["call", "kv.put", "color=blue", "--endpoint", endpoint])
        #expect(put.status == 0)
        let get = try await runCommand(zmesh, ["call", "kv.get", "color", "--endpoint", endpoint])
        #expect(get.stdout == "blue")

        let missing = try await runCommand(zmesh, ["call", "kv.get", "nothing", "--endpoint", endpoint])
        #expect(missing.status == 7)   // application error
        #expect(missing.stderr.split(separator: "\n").count == 1)
        #expect(missing.stderr.contains("no key"))

        let slow = try await runCommand(zmesh, ["call", "sleep", "3000", "--timeout", "0.2", "--endpoint", endpoint])
        #expect(slow.status == 3)      // timeout
        #expect(slow.stderr.contains("timeout"))

        let unknown = try await runCommand(zmesh, ["call", "nope", "--endpoint", endpoint])
        #expect(unknown.status == 8)   // not found

        await client.shutdown()
        server.signal(SIGTERM)
        let status = await server.waitForExit()
        #expect(status == 0, "zmesh serve should exit 0 on SIGTERM: \(server.log)")
    }

    /// A parent may start a node with SIGTERM and SIGINT blocked (Foundation's `Process` does,
    /// from a Swift concurrency thread): the node still drains and exits 0 on SIGTERM. (The
    /// tests' own children start with nothing blocked, so this case needs a test of its own.)
    @Test func aNodeStartedWithTerminationSignalsBlockedStillStopsOnSIGTERM() async throws {
        let (server, _, client) = try await startServe("serve-blocked", ["--name", "blocked-1"],
                                                       blockedSignals: [SIGTERM, SIGINT])
        await client.shutdown()
        server.signal(SIGTERM)
        #expect(await server.waitForExit(timeout: .seconds(15)) == 0, "SIGTERM did not stop it: \(server.log)")
        await server.stop()
    }

    @Test func logsAreOneJSONObjectPerLineWithLogFormatJSON() async throws {
        let zmesh = try Repository.zmeshBinary()
        let (server, endpoint, client) = try await startServe("serve-json", ["--name", "json-1", "--log-format", "json"])
        await client.shutdown()
        server.signal(SIGTERM)
        #expect(await server.waitForExit() == 0)
        let lines = server.log.split(separator: "\n")
        #expect(!lines.isEmpty, "zmesh serve logged nothing: \(server.log)")
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["message"] is String && object?["level"] is String && object?["time"] is String,
                    "not a JSON log record: \(line)")
        }
        #expect(server.log.contains(#""message":"service node listening""#))
        #expect(server.log.contains(#""zmesh.node":"json-1""#))
        // An unknown format is a usage error, named.
        let bad = try await runCommand(zmesh, ["serve", "--bind", endpoint, "--log-format", "yaml"])
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("yaml"))
    }

    @Test func pingTellsLiveDrainingAndGoneApartByItsExitCode() async throws {
        let zmesh = try Repository.zmeshBinary()
        let (server, endpoint, client) = try await startServe("serve-ping", ["--name", "ping-1", "--service", "echo", "--service", "sleep"])
        let live = try await runCommand(zmesh, ["ping", "--endpoint", endpoint])
        #expect(live.status == 0, "\(live.stderr)")
        #expect(live.stdout.hasPrefix("ping-1 service live"))

        // A call in progress keeps the node draining after SIGTERM: it answers, as draining.
        let held = Task { try? await client.call("sleep", Array("4000".utf8), options: CallOptions(timeout: .seconds(10))) }
        #expect(await eventually { (try? await runCommand(zmesh, ["ping", "--endpoint", endpoint, "--json"]))?.stdout.contains(#""load":1"#) == true })
        server.signal(SIGTERM)
        let draining = await eventually(timeout: .seconds(3)) {
            (try? await runCommand(zmesh, ["ping", "--endpoint", endpoint]))?.status == 14
        }
        #expect(draining, "a draining node should ping as draining (exit 14)")
        _ = await held.value
        await client.shutdown()
        #expect(await server.waitForExit() == 0)

        // Gone: nothing answers.
        let gone = try await runCommand(zmesh, ["ping", "--endpoint", endpoint, "--timeout", "1"])
        #expect(gone.status == 4 || gone.status == 3, "exit \(gone.status): \(gone.stderr)")
        let usage = try await runCommand(zmesh, ["ping"])
        #expect(usage.status == 64)
        let version = try await runCommand(zmesh, ["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == ZMeshVersion.current)
    }

    @Test func callingNothingFailsFastWithUnavailable() async throws {
        let zmesh = try Repository.zmeshBinary()
        let port = try freePorts(1)[0]
        let result = try await runCommand(zmesh, ["call", "echo", "x", "--timeout", "30", "--endpoint", "tcp://127.0.0.1:\(port)"],
                                          timeout: .seconds(20))
        #expect(result.status == 4)
        #expect(result.stderr.contains("tcp://127.0.0.1:\(port)"))
    }

    @Test func badArgumentsAreNamed() async throws {
        let zmesh = try Repository.zmeshBinary()
        let result = try await runCommand(zmesh, ["serve", "--bind", "tcp://127.0.0.1:70000"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("70000"))
        let service = try await runCommand(zmesh, ["serve", "--bind", "tcp://127.0.0.1:*", "--service", "weather"])
        #expect(service.status == 78)   // a configuration error: no such built-in service
        #expect(service.stderr.contains("weather"))
        // Seconds that are not a number, or too many to be a Duration, are usage errors, not crashes.
        for arguments in [["bench", "echo", "--timeout", "nan"], ["bench", "echo", "--max-seconds", "inf"],
                          ["call", "echo", "--timeout", "1e300"], ["load", "--seconds", "nan"]] {
            let result = try await runCommand(zmesh, arguments + ["--endpoint", "tcp://127.0.0.1:9"])
            #expect(result.status == 64, "zmesh \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)")
            #expect(result.stderr.contains(arguments[arguments.count - 2]))
        }
    }

    /// Starts `zmesh serve --bind ENDPOINT ARGUMENTS` on a free loopback port and waits until
    /// it answers `echo` from Swift; the client it asked with stays open for the test.
    private func startServe(_ name: String, _ arguments: [String], blockedSignals: [Int32] = [],
                            sourceLocation: SourceLocation = #_sourceLocation) async throws
        -> (server: ChildProcess, endpoint: String, client: MeshClient) {
        let endpoint = "tcp://127.0.0.1:\(try freePorts(1)[0])"
        let server = try ChildProcess(name: name, executable: try Repository.zmeshBinary(),
                                      arguments: ["serve", "--bind", endpoint] + arguments, blockedSignals: blockedSignals)
        let client = try makeClient([endpoint])
        let ready = await eventually(timeout: .seconds(20)) {
            (try? await client.call("echo", "ping".bytes, options: CallOptions(timeout: .milliseconds(500)))) != nil
        }
        #expect(ready, "zmesh serve did not answer: \(server.log)", sourceLocation: sourceLocation)
        return (server, endpoint, client)
    }
}
