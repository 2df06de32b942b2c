import Foundation
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Prometheus
import ServiceLifecycle
import Synchronization
import Testing
import ZMesh
@testable import ZMeshPrometheus

/// The endpoint over a real loopback socket: what scrapes and other requests get, bind
/// errors, and stopping with the group.
@Suite("MetricsEndpoint over a real socket")
struct MetricsEndpointTests {
    @Test func getMetricsServesTheRegistryAndOtherRequestsGet404Or405() async throws {
        let registry = PrometheusCollectorRegistry()
        let factory = MeshPrometheus.makeMetricsFactory(registry: registry)
        let counter = factory.makeCounter(label: "rpc.server.requests", dimensions: [("service", "echo"), ("outcome", "ok")])
        counter.increment(by: 7)

        try await withEndpoint(registry: registry) { base in
            let (body, response) = try await get(base + "/metrics")
            #expect(response.statusCode == 200)
            #expect(response.value(forHTTPHeaderField: "Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
            #expect(body.contains("# TYPE rpc_server_requests_total counter\n"), "\(body)")
            #expect(body.contains(#"rpc_server_requests_total{service="echo",outcome="ok"} 7"#), "\(body)")

            // The registry is read at each scrape.
            counter.increment(by: 1)
            #expect(try await get(base + "/metrics?ignored=1").body.contains(#"outcome="ok"} 8"#))

            #expect(try await get(base + "/other").response.statusCode == 404)
            #expect(try await get(base + "/").response.statusCode == 404)
            let post = try await get(base + "/metrics", method: "POST")
            #expect(post.response.statusCode == 405)
            #expect(post.response.value(forHTTPHeaderField: "Allow") == "GET, HEAD")
            let head = try await get(base + "/metrics", method: "HEAD")
            #expect(head.response.statusCode == 200)
            #expect(head.body.isEmpty)
        }
    }

    @Test func aSecondEndpointOnTheSamePortFailsNamingTheAddress() async throws {
        try await withEndpoint(registry: PrometheusCollectorRegistry()) { base in
            let port = try #require(URLComponents(string: base)?.port)
            let address = MetricsAddress(host: "127.0.0.1", port: port)
            let second = MetricsEndpoint(address: address, registry: PrometheusCollectorRegistry(), logger: Logger(label: "test"))
            let error = await #expect(throws: MetricsEndpointError.self) { try await second.run() }
            #expect(error?.description == "cannot serve metrics at 127.0.0.1:\(port): Address already in use", "\(String(describing: error))")
        }
    }

    @Test func anAddressOfNoInterfaceHereFailsNamingIt() async throws {
        // 192.0.2.1 is TEST-NET-1: no interface of this machine has it, so bind fails at once.
        let address = MetricsAddress(host: "192.0.2.1", port: 9)
        let endpoint = MetricsEndpoint(address: address, registry: PrometheusCollectorRegistry(), logger: Logger(label: "test"))
        let error = await #expect(throws: MetricsEndpointError.self) { try await endpoint.run() }
        #expect(error?.description.hasPrefix("cannot serve metrics at 192.0.2.1:9: ") == true, "\(String(describing: error))")
    }

    @Test func timersAreHistogramsInSecondsAndCountersEndInTotal() {
        let registry = PrometheusCollectorRegistry()
        let factory = MeshPrometheus.makeMetricsFactory(registry: registry)
        let timer = factory.makeTimer(label: "rpc.server.duration", dimensions: [("service", "echo"), ("method", "echo"), ("outcome", "ok")])
        timer.recordNanoseconds(2_000_000)   // 2 ms
        factory.makeCounter(label: "zmesh.messages.dropped", dimensions: [("role", "service"), ("reason", "bad-header")]).increment(by: 1)
        let text = registry.emitToString()
        #expect(text.contains("# TYPE rpc_server_duration_seconds histogram\n"), "\(text)")
        let labels = #"service="echo",method="echo",outcome="ok""#
        #expect(text.contains("rpc_server_duration_seconds_bucket{\(labels),le=\"0.001\"} 0\n"), "\(text)")
        #expect(text.contains("rpc_server_duration_seconds_bucket{\(labels),le=\"0.0025\"} 1\n"), "\(text)")
        #expect(text.contains("rpc_server_duration_seconds_bucket{\(labels),le=\"0.0001\"} 0\n"), "\(text)")
        #expect(text.contains("rpc_server_duration_seconds_bucket{\(labels),le=\"10.0\"} 1\n"), "\(text)")
        #expect(text.contains("rpc_server_duration_seconds_count{\(labels)} 1\n"), "\(text)")
        #expect(text.contains(#"zmesh_messages_dropped_total{role="service",reason="bad-header"} 1"#), "\(text)")
    }

    @Test func prometheusNamesFollowTheRules() {
        #expect(PrometheusNaming.metricName("rpc.server.requests", kind: .counter) == "rpc_server_requests_total")
        #expect(PrometheusNaming.metricName("rpc.client.requests", kind: .counter) == "rpc_client_requests_total")
        #expect(PrometheusNaming.metricName("jobs_total", kind: .counter) == "jobs_total")
        #expect(PrometheusNaming.metricName("rpc.server.duration", kind: .timer) == "rpc_server_duration_seconds")
        #expect(PrometheusNaming.metricName("zmesh.load", kind: .other) == "zmesh_load")
        #expect(PrometheusNaming.metricName("2xx-rate", kind: .other) == "_2xx_rate")
        #expect(PrometheusNaming.metricName("ns:name", kind: .other) == "ns:name")
        #expect(PrometheusNaming.labels([("zmesh.node", "echo-1"), ("a:b", "v")]).map(\.0) == ["zmesh_node", "a_b"])
    }

    @Test func aGracefulShutdownStopsTheEndpointWithConnectionsStillOpen() async throws {
        let started = ContinuousClock.now
        var idle: Int32 = -1
        try await withEndpoint(registry: PrometheusCollectorRegistry()) { base in
            // URLSession keeps its connection open for the next request; the raw one sends nothing.
            let status = try await get(base + "/metrics").response.statusCode
            #expect(status == 200)
            idle = try connect(to: try #require(URLComponents(string: base)?.port))
        }
        close(idle)
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test func aClientThatAsksToCloseGetsItsAnswerThenTheClose() async throws {
        let registry = PrometheusCollectorRegistry()
        MeshPrometheus.makeMetricsFactory(registry: registry).makeCounter(label: "one", dimensions: []).increment(by: 1)
        try await withEndpoint(registry: registry) { base in
            let fd = try connect(to: try #require(URLComponents(string: base)?.port))
            defer { close(fd) }
            let request = Array("GET /metrics HTTP/1.0\r\n\r\n".utf8)
            #expect(send(fd, request, request.count, 0) == request.count)
            var received: [UInt8] = []
            let closed = await eventually {
                var buffer = [UInt8](repeating: 0, count: 4096)
                let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                if count > 0 { received += buffer[..<count] }
                return count == 0
            }
            let text = String(decoding: received, as: UTF8.self)
            #expect(closed, "the endpoint should close an HTTP/1.0 connection after its answer: \(text)")
            #expect(text.hasPrefix("HTTP/1.0 200 OK\r\n"), "\(text)")
            #expect(text.lowercased().contains("connection: close\r\n"), "\(text)")
            #expect(text.hasSuffix("\r\n\r\n# TYPE one_total counter\none_total 1\n"), "\(text)")
        }
    }

    @Test func connectionsPastTheLimitAreClosedAndServedOnceOthersClose() async throws {
        try await withEndpoint(registry: PrometheusCollectorRegistry()) { base in
            let port = try #require(URLComponents(string: base)?.port)
            var held: [Int32] = []
            defer { for fd in held { close(fd) } }
            for _ in 0...MetricsEndpoint.maxConnections { held.append(try connect(to: port)) }
            // One more than the limit: one of them (whichever was admitted last: connections are
            // spread over event loops) is closed at once, unanswered; the others stay open.
            func closedByTheServer() -> Int {
                held.count { fd in
                    var byte: UInt8 = 0
                    return recv(fd, &byte, 1, Int32(MSG_DONTWAIT)) == 0
                }
            }
            let refused = await eventually { closedByTheServer() >= 1 }
            #expect(refused, "a connection past \(MetricsEndpoint.maxConnections) should be closed at once")
            #expect(closedByTheServer() == 1)
            for fd in held { close(fd) }
            held = []
            let served = await eventually { (try? await get(base + "/metrics"))?.response.statusCode == 200 }
            #expect(served)
        }
    }
}

/// Polls `condition` every 10 ms until it holds or 10 s pass.
private func eventually(_ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .seconds(10)
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return await condition()
}

/// A TCP connection to 127.0.0.1:`port` that sends nothing; the caller closes it.
private func connect(to port: Int) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EMFILE) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard result == 0 else {
        close(fd)
        throw POSIXError(.ECONNREFUSED)
    }
    return fd
}

/// Runs an endpoint on 127.0.0.1, a free port, in a `ServiceGroup`; calls `body` with its
/// base URL once it listens, then shuts the group down gracefully and waits for it.
private func withEndpoint(registry: PrometheusCollectorRegistry,
                          _ body: (String) async throws -> Void) async throws {
    let bound = Mutex<MetricsAddress?>(nil)
    let endpoint = MetricsEndpoint(address: MetricsAddress(host: "127.0.0.1", port: 0), registry: registry,
                                   logger: Logger(label: "test"), onListening: { address in bound.withLock { $0 = address } })
    let group = ServiceGroup(configuration: .init(services: [.init(service: endpoint)], logger: Logger(label: "test")))
    let running = Task { try await group.run() }
    do {
        let deadline = ContinuousClock.now + .seconds(10)
        while bound.withLock({ $0 }) == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        let address = try #require(bound.withLock { $0 })
        try await body("http://127.0.0.1:\(address.port)")
    } catch {
        await group.triggerGracefulShutdown()
        _ = try? await running.value
        throw error
    }
    await group.triggerGracefulShutdown()
    try await running.value
}

/// One request; the body as text and the response.
private func get(_ url: String, method: String = "GET") async throws -> (body: String, response: HTTPURLResponse) {
    var request = URLRequest(url: try #require(URL(string: url)))
    request.httpMethod = method
    request.timeoutInterval = 10
    let (data, response) = try await URLSession.shared.data(for: request)
    return (String(decoding: data, as: UTF8.self), try #require(response as? HTTPURLResponse))
}
