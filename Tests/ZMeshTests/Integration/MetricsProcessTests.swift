import Foundation
import Testing
import ZMeshTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `--metrics` and the topology file's `metrics:` on real `zmesh serve` and `zmesh node`
/// processes, scraped over HTTP.
@Suite("zmesh serve and zmesh node serving /metrics", .serialized, .oneMeshAtATime)
struct MetricsProcessTests {
    @Test func serveWithMetricsCountsCallsAndABusyAddressExitsWithTheConfigurationCode() async throws {
        let zmesh = try Repository.zmeshBinary()
        let ports = try freePorts(3)
        let endpoint = "tcp://127.0.0.1:\(ports[0])", metrics = "127.0.0.1:\(ports[1])"
        let server = try ChildProcess(name: "serve-metrics", executable: zmesh,
                                      arguments: ["serve", "--bind", endpoint, "--service", "echo", "--metrics", metrics])
        defer { server.signal(SIGKILL) }
        let ready = await eventually(timeout: .seconds(20)) {
            guard await httpGet("http://\(metrics)/metrics")?.status == 200 else { return false }
            return (try? await runCommand(zmesh, ["ping", "--endpoint", endpoint]))?.status == 0
        }
        #expect(ready, "zmesh serve --metrics did not come up: \(server.log)")
        #expect(server.log.contains("serving metrics for Prometheus"), "\(server.log)")
        #expect(server.log.contains("http://\(metrics)/metrics"), "\(server.log)")

        for index in 0..<3 {
            let call = try await runCommand(zmesh, ["call", "echo", "hi-\(index)", "--endpoint", endpoint])
            #expect(call.status == 0, "\(call.stderr)")
        }
        let counted = await eventually {
            await httpGet("http://\(metrics)/metrics").flatMap { sample(#"rpc_server_requests_total{service="echo",outcome="ok"}"#, in: $0.body) } == 3
        }
        let scrape = await httpGet("http://\(metrics)/metrics")?.body ?? "no answer"
        #expect(counted, "\(scrape)")
        #expect(await httpGet("http://\(metrics)/other")?.status == 404)

        // The same metrics address again: the second node cannot listen there, says where, exits 78.
        let second = try await runCommand(zmesh, ["serve", "--bind", "tcp://127.0.0.1:\(ports[2])", "--metrics", metrics],
                                          timeout: .seconds(30))
        #expect(second.status == 78, "\(second.stderr)")
        #expect(second.stderr.contains("cannot serve metrics at \(metrics)"), "\(second.stderr)")
        // A malformed address is a usage error, named.
        let usage = try await runCommand(zmesh, ["serve", "--bind", "tcp://127.0.0.1:\(ports[2])", "--metrics", "127.0.0.1"])
        #expect(usage.status == 64)
        #expect(usage.stderr.contains("--metrics 127.0.0.1: expected HOST:PORT"), "\(usage.stderr)")

        server.signal(SIGTERM)
        #expect(await server.waitForExit() == 0, "zmesh serve should exit 0 on SIGTERM: \(server.log)")
        let afterwards = await httpGet("http://\(metrics)/metrics", timeout: 1)
        #expect(afterwards == nil, "the endpoint should stop with the node")
    }

    @Test func nodeServesTheFilesMetricsAddressAndTheFlagReplacesIt() async throws {
        let zmesh = try Repository.zmeshBinary()
        let ports = try freePorts(5)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("zmesh-metrics-\(UUID().uuidString).yaml")
        defer { try? FileManager.default.removeItem(at: file) }
        try """
            topology: brokerless
            registries:
              - { name: registry-1, bind: "tcp://127.0.0.1:\(ports[0])", metrics: "127.0.0.1:\(ports[1])" }
            services:
              - { name: echo-1, service: echo, bind: "tcp://127.0.0.1:\(ports[2])", metrics: "127.0.0.1:\(ports[3])" }
            """.write(to: file, atomically: true, encoding: .utf8)
        let registry = try ChildProcess(name: "registry-metrics", executable: zmesh,
                                        arguments: ["node", "registry-1", "--config", file.path])
        let echo = try ChildProcess(name: "echo-metrics", executable: zmesh,
                                    arguments: ["node", "echo-1", "--config", file.path, "--metrics", "127.0.0.1:\(ports[4])"])
        defer {
            registry.signal(SIGKILL)
            echo.signal(SIGKILL)
        }
        let up = await eventually(timeout: .seconds(20)) {
            guard await httpGet("http://127.0.0.1:\(ports[1])/metrics")?.status == 200 else { return false }
            return await httpGet("http://127.0.0.1:\(ports[4])/metrics")?.status == 200
        }
        #expect(up, "registry: \(registry.log)\necho: \(echo.log)")
        let fileAddress = await httpGet("http://127.0.0.1:\(ports[3])/metrics", timeout: 1)
        #expect(fileAddress == nil, "--metrics replaces the file's address")
        #expect(echo.log.contains("http://127.0.0.1:\(ports[4])/metrics"), "\(echo.log)")

        // Listening is not registered yet: wait until the registry lists echo-1, as mesh-up.sh does.
        let registered = try await runCommand(zmesh, ["status", "--config", file.path, "--wait", "10"], timeout: .seconds(20))
        #expect(registered.status == 0, "\(registered.stdout)\(registered.stderr)")
        let call = try await runCommand(zmesh, ["call", "echo", "scraped", "--config", file.path])
        #expect(call.stdout == "scraped", "\(call.stderr)")
        let counted = await eventually {
            await httpGet("http://127.0.0.1:\(ports[4])/metrics").flatMap {
                sample(#"rpc_server_requests_total{service="echo",outcome="ok"}"#, in: $0.body)
            } == 1
        }
        #expect(counted)

        for process in [echo, registry] {
            process.signal(SIGTERM)
            #expect(await process.waitForExit() == 0, "\(process.name) should exit 0 on SIGTERM: \(process.log)")
        }
    }
}
