import Foundation
import Testing
@testable import ZMesh
import ZMeshTestSupport

/// A real Prometheus scraping every node of topologies/observed.yaml, brought up by the real
/// scripts/mesh-up.sh; its HTTP API must count the echo calls made.
@Suite("Prometheus scrapes a mesh", .serialized, .oneMeshAtATime)
struct PrometheusScrapeTests {
    /// Echo calls made in all.
    static let calls = 25

    @Test(.enabled("needs prometheus (scripts/test.sh installs it: apt-get install prometheus)") {
        await PrometheusServer.isInstalled()
    })
    func prometheusCountsTheEchoCallsOfEveryInstanceAndSeesEveryNodeUp() async throws {
        let mesh = try await MeshUnderTest("topologies/observed.yaml")
        var targets: [String: String] = [:]
        for node in mesh.topology.nodes {
            if let address = node.metrics { targets[node.name] = address }
        }
        #expect(targets.count == mesh.topology.nodes.count, "every node of \(mesh.file) should have a metrics address")
        let prometheus: PrometheusServer
        do {
            prometheus = try await PrometheusServer(targets: targets)
        } catch {
            await mesh.down()
            throw error
        }
        do {
            try await scrapeAndQuery(mesh: mesh, prometheus: prometheus, nodes: Set(targets.keys))
        } catch {
            await prometheus.stop()
            await mesh.down()
            throw error
        }
        await prometheus.stop()
        await mesh.down()
    }

    private func scrapeAndQuery(mesh: MeshUnderTest, prometheus: PrometheusServer, nodes: Set<String>) async throws {
        let started = ContinuousClock.now
        // Every node of the file is a target Prometheus reaches.
        var up: [String: Double] = [:]
        let allUp = await eventually(timeout: .seconds(30)) {
            up = Dictionary((await prometheus.query(#"up{job="zmesh"}"#) ?? []).map { ($0.labels["node"] ?? "?", $0.value) },
                            uniquingKeysWith: { first, _ in first })
            return Set(up.keys) == nodes && up.values.allSatisfy { $0 == 1 }
        }
        #expect(allUp, "up by node: \(up); prometheus log:\n\(prometheus.process.log)")

        // One call, seen by Prometheus, then the rest: so the counters (and histograms) it
        // holds grow between scrapes.
        let client = try mesh.client()
        #expect(try await client.call("echo", "call-0".bytes).text == "call-0")
        #expect(await waitForEchoCount(1, in: prometheus), "the first call was not counted")
        for index in 1..<Self.calls {
            #expect(try await client.call("echo", "call-\(index)".bytes).text == "call-\(index)")
        }
        await client.shutdown()
        #expect(await waitForEchoCount(Self.calls, in: prometheus),
                "Prometheus should count \(Self.calls) echo calls over the instances")

        // The echo service's p99, from every instance's rpc.server.duration histogram.
        var p99: Double?
        let answered = await eventually(timeout: .seconds(30)) {
            p99 = await prometheus.query(Self.echoP99Query)?.first?.value
            return p99.map { $0.isFinite && $0 > 0 } ?? false
        }
        #expect(answered, "p99 of echo: \(String(describing: p99))")
        #expect((p99 ?? 0) <= 10, "p99 of echo calls on loopback should be under the last bucket: \(String(describing: p99))")

        // The nodes' gauges: the registry's live instances, the broker's ready ones, and each
        // echo instance's queue.
        for (query, expected) in [(#"zmesh_registry_instances{health="live"}"#, 2.0),
                                  (#"zmesh_broker_instances{state="ready"}"#, 2.0),
                                  (#"count(zmesh_service_queued{job="zmesh"})"#, 2.0)] {
            var value: Double?
            let seen = await eventually(timeout: .seconds(30)) {
                value = await prometheus.query(query)?.first?.value
                return value == expected
            }
            #expect(seen, "\(query) = \(String(describing: value)), not \(expected)")
        }
        print("PROMETHEUS scraped \(nodes.count) nodes and counted \(Self.calls) echo calls in \(ContinuousClock.now - started)")
    }

    /// The echo service's calls answered `ok`, summed over its instances.
    static let echoCountQuery = #"sum(rpc_server_requests_total{service="echo",outcome="ok"})"#

    /// The echo service's p99 latency in seconds over the last 30 s, from every instance's histogram.
    static let echoP99Query = #"histogram_quantile(0.99, sum by (le) (rate(rpc_server_duration_seconds_bucket{service="echo"}[30s])))"#

    /// Polls Prometheus (30 s at most) until it counts `count` echo calls.
    private func waitForEchoCount(_ count: Int, in prometheus: PrometheusServer) async -> Bool {
        var seen: Double?
        let counted = await eventually(timeout: .seconds(30)) {
            seen = await prometheus.query(Self.echoCountQuery)?.first?.value
            return seen == Double(count)
        }
        if !counted { Issue.record("Prometheus counted \(String(describing: seen)) echo calls, not \(count)") }
        return counted
    }
}
