import InMemoryTracing
import Metrics
import MetricsTestKit
import Testing
import Tracing
@testable import ZMesh
import ZMeshBuiltins
import ZMeshTestSupport

/// The tracing and metrics interceptors around streams, over real sockets, broker-less: a
/// stream is one trace from its start to its end on both sides, and is timed by outcome.
@Suite("Tracing and metrics around streams")
struct StreamObservabilityTests {
    private let patient = CallOptions(timeout: .seconds(60))

    /// A node with the built-in streams and `fail.server` (two messages, then a ServiceError),
    /// through `interceptors`.
    private func startNode(_ interceptors: [any ServerInterceptor] = []) async throws -> (ServiceNode, String) {
        var handlers = BuiltinServices.streams()
        handlers.registerServerStream("fail.server") { _, _, writer in
            try await writer.write("1".bytes)
            try await writer.write("2".bytes)
            throw ServiceError(code: 409, message: "no more")
        }
        return try await startTestNode(name: "streams-1", configure: { $0.interceptors = interceptors }, handlers: handlers)
    }

    @Test func aServerStreamsClientSpanJoinsTheServiceSpanAndEndsAfterItsLastMessage() async throws {
        let tracer = W3CTestTracer()
        let (node, endpoint) = try await startNode([ServerTracingInterceptor(tracer: tracer)])
        let client = try makeClient([endpoint]) { $0.interceptors = [ClientTracingInterceptor(tracer: tracer)] }

        var read = 0
        var clientSpanEndedEarly = false
        for try await _ in client.stream("stream.count", "20".bytes, options: patient, window: 4) {
            read += 1
            if tracer.finishedSpans.contains(where: { $0.kind == .client }) { clientSpanEndedEarly = true }
        }
        #expect(read == 20)
        #expect(!clientSpanEndedEarly, "the client span ended before the caller read the stream's last message")
        #expect(await eventually { tracer.finishedSpans.count == 2 })
        let spans = tracer.finishedSpans
        let clientSpan = try #require(spans.first { $0.kind == .client })
        let serverSpan = try #require(spans.first { $0.kind == .server })
        #expect(clientSpan.operationName == "stream.count" && serverSpan.operationName == "stream.count")
        #expect(clientSpan.traceID == serverSpan.traceID, "one trace")
        #expect(serverSpan.parentSpanID == clientSpan.spanID)
        #expect(clientSpan.attributes[RPCAttribute.system]?.toSpanAttribute() == "zmesh")
        #expect(clientSpan.attributes[RPCAttribute.service]?.toSpanAttribute() == "stream")
        #expect(clientSpan.attributes[RPCAttribute.method]?.toSpanAttribute() == "count")
        #expect(clientSpan.attributes[RPCAttribute.outcome]?.toSpanAttribute() == "ok")
        #expect(clientSpan.attributes[RPCAttribute.kind]?.toSpanAttribute() == "server-streaming")
        #expect(clientSpan.attributes[RPCAttribute.messagesReceived]?.toSpanAttribute() == 20)
        // Where it went, as a unary call's span says.
        #expect(clientSpan.attributes[RPCAttribute.serverAddress]?.toSpanAttribute() == endpoint.toSpanAttribute())

        // A stream the handler fails: the client span says so.
        do {
            for try await _ in client.stream("fail.server", [], options: patient) {}
        } catch {}
        #expect(await eventually { tracer.finishedSpans.count == 4 })
        let failed = try #require(tracer.finishedSpans.last { $0.kind == .client && $0.operationName == "fail.server" })
        #expect(failed.attributes[RPCAttribute.outcome]?.toSpanAttribute() == "application")
        #expect(failed.status?.code == .error)
        await client.shutdown()
        await node.stop()
    }

    @Test func aClientAndABidirectionalStreamAreEachOneTrace() async throws {
        let tracer = W3CTestTracer()
        let (node, endpoint) = try await startNode([ServerTracingInterceptor(tracer: tracer)])
        let client = try makeClient([endpoint]) { $0.interceptors = [ClientTracingInterceptor(tracer: tracer)] }

        _ = try await client.clientStream("stream.sum", options: patient) { writer in
            for number in 1...3 { try await writer.write("\(number)".bytes) }
        }
        _ = try await client.bidirectionalStream("stream.echo", options: patient) { writer in
            for word in ["a", "b"] { try await writer.write(word.bytes) }
        } replies: { replies in
            try await replies.reduce(0) { count, _ in count + 1 }
        }
        #expect(await eventually { tracer.finishedSpans.count == 4 })
        for name in ["stream.sum", "stream.echo"] {
            let spans = tracer.finishedSpans.filter { $0.operationName == name }
            let clientSpan = try #require(spans.first { $0.kind == .client })
            let serverSpan = try #require(spans.first { $0.kind == .server })
            #expect(serverSpan.traceID == clientSpan.traceID && serverSpan.parentSpanID == clientSpan.spanID, "\(name)")
            #expect(clientSpan.attributes[RPCAttribute.outcome]?.toSpanAttribute() == "ok")
            #expect(clientSpan.attributes[RPCAttribute.messagesSent]?.toSpanAttribute() == (name == "stream.sum" ? 3 : 2))
            #expect(clientSpan.attributes[RPCAttribute.serverAddress]?.toSpanAttribute() == endpoint.toSpanAttribute(), "\(name)")
        }
        await client.shutdown()
        await node.stop()
    }

    @Test func streamsAreTimedByOutcomeAndCountedWhileOpen() async throws {
        let metrics = TestMetrics()
        let (node, endpoint) = try await startNode()
        let client = try makeClient([endpoint]) { $0.interceptors = [ClientMetricsInterceptor(factory: metrics)] }

        var iterator = client.stream("stream.count", "3".bytes, options: patient).makeAsyncIterator()
        _ = try await iterator.next()
        #expect(try metrics.expectMeter("rpc.client.active_requests").values.last == 1)
        while try await iterator.next() != nil {}
        #expect(try metrics.expectMeter("rpc.client.active_requests").values.last == 0)
        do {
            for try await _ in client.stream("fail.server", [], options: patient) {}
        } catch {}
        _ = try await client.clientStream("stream.sum", options: patient) { writer in try await writer.write("1".bytes) }

        #expect(try metrics.expectTimer("rpc.client.duration", [("service", "stream"), ("method", "count"), ("outcome", "ok")])
            .values.count == 1)
        #expect(try metrics.expectTimer("rpc.client.duration", [("service", "fail"), ("method", "server"), ("outcome", "application")])
            .values.count == 1)
        #expect(try metrics.expectTimer("rpc.client.duration", [("service", "stream"), ("method", "sum"), ("outcome", "ok")])
            .values.count == 1)
        #expect(try metrics.expectMeter("rpc.client.active_requests").values.last == 0)
        await client.shutdown()
        await node.stop()
    }
}
