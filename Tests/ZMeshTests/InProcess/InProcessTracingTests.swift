import InMemoryTracing
import Logging
import Testing
import Tracing
@testable import ZMesh
import ZMeshTestSupport

/// Distributed tracing across roles: a client's call to a service whose handler calls a second
/// service is one trace, with every span parented on the one before, broker-less and through
/// a broker (which adds a span for its hop).
@Suite("In process: distributed tracing")
struct InProcessTracingTests {
    @Test(arguments: [false, true])
    func aCallAndTheNestedCallItsHandlerMakesAreOneTrace(brokered: Bool) async throws {
        let tracer = W3CTestTracer()
        let mesh = InProcessMesh()
        let registries = brokered ? ["inproc://registry"] : []
        if brokered { _ = try await mesh.registry() }
        let tracing: (inout ServiceNode.Configuration) -> Void = { $0.interceptors = [ServerTracingInterceptor(tracer: tracer)] }
        var back = ServiceHandlers()
        back.register("back") { payload, _ in payload + Array("!".utf8) }
        _ = try await mesh.service("b", back, registries: registries, configure: tracing)
        // The nested client: how service a's handler calls b.
        let nested = await mesh.client(brokered ? .brokers(["inproc://broker"]) : .endpoints(["inproc://b"]),
                                       named: "nested", clientID: 8) {
            $0.interceptors = [ClientTracingInterceptor(tracer: tracer)]
        }
        let nestedCalls = Calls()
        var front = ServiceHandlers()
        front.register("front") { payload, context in
            try await nestedCalls.start(nested, "back", request: MeshRequest(payload: payload)).value.get().payload
        }
        _ = try await mesh.service("a", front, registries: registries, configure: tracing)
        if brokered { _ = try await mesh.broker { $0.tracer = tracer } }
        let client = await mesh.client(brokered ? .brokers(["inproc://broker"]) : .endpoints(["inproc://a"])) {
            $0.interceptors = [ClientTracingInterceptor(tracer: tracer)]
        }

        let reply = try await Calls().start(client, "front", request: MeshRequest(payload: Array("hi".utf8))).value.get()
        #expect(String(decoding: reply.payload, as: UTF8.self) == "hi!")

        let spans = tracer.finishedSpans
        let expected = expectedNestedCallSpans(brokered: brokered)
        #expect(spans.count == expected.count, "\(spans.map(\.operationName))")
        #expect(Set(spans.map(\.traceID)).count == 1, "one trace")
        // Walk from the root down: each span's parent is the one before it.
        let chain = parentChain(spans)
        let root = try #require(chain.first)
        #expect(chain.map(\.operationName) == expected.map(\.name))
        #expect(chain.map(\.kind) == expected.map(\.kind))
        if brokered {
            #expect(chain[1].attributes["zmesh.broker"]?.toSpanAttribute() == "broker")
        }
        #expect(root.attributes[RPCAttribute.system]?.toSpanAttribute() == "zmesh")
        #expect(root.attributes[RPCAttribute.service]?.toSpanAttribute() == "front")
        #expect(root.attributes[RPCAttribute.outcome]?.toSpanAttribute() == "ok")
        #expect(root.attributes[RPCAttribute.serverAddress]?.toSpanAttribute() == (brokered ? "inproc://broker" : "inproc://a"))
        withExtendedLifetime(mesh) {}
    }

    @Test func aFailedCallsSpansSayHowItEnded() async throws {
        let tracer = W3CTestTracer()
        let mesh = InProcessMesh()
        var handlers = ServiceHandlers()
        handlers.register("fail") { _, _ in throw ServiceError(code: 418, message: "teapot") }
        _ = try await mesh.service("a", handlers) { $0.interceptors = [ServerTracingInterceptor(tracer: tracer)] }
        let client = await mesh.client(.endpoints(["inproc://a"])) { $0.interceptors = [ClientTracingInterceptor(tracer: tracer)] }
        _ = await Calls().start(client, "fail", request: MeshRequest(payload: [])).value
        let spans = tracer.finishedSpans
        let clientSpan = try #require(spans.first { $0.kind == .client })
        let serverSpan = try #require(spans.first { $0.kind == .server })
        #expect(clientSpan.attributes[RPCAttribute.outcome]?.toSpanAttribute() == "application")
        #expect(clientSpan.status?.code == .error)
        #expect(serverSpan.attributes[RPCAttribute.outcome]?.toSpanAttribute() == "application_error")
        #expect(serverSpan.parentSpanID == clientSpan.spanID)
        withExtendedLifetime(mesh) {}
    }

    @Test func aHandlersLoggerAndTheTracingMetadataProviderGiveTheTraceID() async throws {
        let tracer = W3CTestTracer()
        let mesh = InProcessMesh()
        let provider = Logger.MetadataProvider.zmeshTracing(tracer: tracer)
        var handlers = ServiceHandlers()
        handlers.register("ids") { _, context in
            let fromLogger = context.logger[metadataKey: "trace_id"].map { "\($0)" } ?? "-"
            let fromProvider = provider.get()
            return Array("\(fromLogger) \(fromProvider["trace_id"].map { "\($0)" } ?? "-") \(fromProvider["span_id"].map { "\($0)" } ?? "-")".utf8)
        }
        // A logger whose handler keeps metadata (the mesh's default one drops it).
        let logger = Logger(label: "ids") { StreamLogHandler.standardError(label: $0) }
        _ = try await mesh.service("a", handlers, logger: logger) { $0.interceptors = [ServerTracingInterceptor(tracer: tracer)] }
        let client = await mesh.client(.endpoints(["inproc://a"]))
        // A caller with no tracer continues a given trace: `zmesh call --traceparent` does this.
        let given = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        let reply = try await Calls().start(client, "ids", request: MeshRequest(payload: [], metadata: ["traceparent": given])).value.get()
        let parts = String(decoding: reply.payload, as: UTF8.self).split(separator: " ").map(String.init)
        #expect(parts[0] == "0af7651916cd43dd8448eb211c80319c")
        #expect(parts[1] == "0af7651916cd43dd8448eb211c80319c")
        let server = try #require(tracer.finishedSpans.first)
        #expect(server.parentSpanID == "b7ad6b7169203331")
        #expect(parts[2] == server.spanID)
        withExtendedLifetime(mesh) {}
    }
}
