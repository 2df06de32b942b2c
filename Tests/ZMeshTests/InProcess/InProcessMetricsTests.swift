import Metrics
import MetricsTestKit
import Testing
@testable import ZMesh
import ZMeshTestSupport

/// The metrics interceptors: durations by service, method and outcome on both sides, with
/// labels bounded whatever names callers send.
@Suite("In process: metrics interceptors")
struct InProcessMetricsTests {
    @Test func bothSidesTimeCallsByServiceMethodAndOutcome() async throws {
        let metrics = TestMetrics()
        let mesh = InProcessMesh()
        let calls = Calls()
        var handlers = ServiceHandlers()
        handlers.registerInline("kv.get") { payload, _ in payload }
        handlers.register("kv.fail") { _, _ in throw ServiceError(code: 404, message: "no such key") }
        _ = try await mesh.service("a", handlers) { $0.interceptors = [ServerMetricsInterceptor(factory: metrics)] }
        let client = await mesh.client(.endpoints(["inproc://a"])) { $0.interceptors = [ClientMetricsInterceptor(factory: metrics)] }
        for _ in 0..<3 { _ = try await calls.start(client, "kv.get", request: MeshRequest(payload: [1])).value.get() }
        _ = await calls.start(client, "kv.fail", request: MeshRequest(payload: [])).value

        let serverOK = try metrics.expectTimer("rpc.server.duration", [("service", "kv"), ("method", "get"), ("outcome", "ok")])
        #expect(serverOK.values.count == 3)
        #expect(try metrics.expectTimer("rpc.server.duration", [("service", "kv"), ("method", "fail"), ("outcome", "application_error")])
            .values.count == 1)
        #expect(try metrics.expectTimer("rpc.client.duration", [("service", "kv"), ("method", "get"), ("outcome", "ok")]).values.count == 3)
        #expect(try metrics.expectTimer("rpc.client.duration", [("service", "kv"), ("method", "fail"), ("outcome", "application")])
            .values.count == 1)
        #expect(try metrics.expectMeter("rpc.server.active_requests").values.last == 0)
        #expect(try metrics.expectMeter("rpc.client.active_requests").values.last == 0)
        #expect(serverOK.values.allSatisfy { $0 > 0 })
        withExtendedLifetime(mesh) {}
    }

    @Test func aServersLabelsAreItsHandlersWhateverNamesCallersMakeUp() async throws {
        let metrics = TestMetrics()
        let mesh = InProcessMesh()
        let calls = Calls()
        var handlers = ServiceHandlers()
        handlers.registerInline("echo") { payload, _ in payload }
        _ = try await mesh.service("a", handlers) { $0.interceptors = [ServerMetricsInterceptor(factory: metrics)] }
        let client = await mesh.client(.endpoints(["inproc://a"]))
        for index in 0..<50 { _ = try await calls.start(client, "echo.made-up-\(index)", "x").value.get() }
        let timers = metrics.timers.filter { $0.label == "rpc.server.duration" }
        #expect(timers.count == 1)
        #expect(try metrics.expectTimer("rpc.server.duration", [("service", "echo"), ("method", "echo"), ("outcome", "ok")]).values.count == 50)
        withExtendedLifetime(mesh) {}
    }

    @Test func aClientsLabelsStopAtItsLimitAndTheRestCountAsOther() async throws {
        let metrics = TestMetrics()
        let mesh = InProcessMesh()
        let calls = Calls()
        var handlers = ServiceHandlers()
        handlers.registerInline("echo") { payload, _ in payload }
        _ = try await mesh.service("a", handlers)
        let client = await mesh.client(.endpoints(["inproc://a"])) { $0.interceptors = [ClientMetricsInterceptor(maxNames: 3, factory: metrics)] }
        for index in 0..<20 { _ = try await calls.start(client, "echo.m\(index)", request: MeshRequest(payload: [])).value.get() }
        let timers = metrics.timers.filter { $0.label == "rpc.client.duration" }
        #expect(timers.count == 4)
        #expect(try metrics.expectTimer("rpc.client.duration", [("service", "_other"), ("method", "_other"), ("outcome", "ok")])
            .values.count == 17)
        withExtendedLifetime(mesh) {}
    }
}
