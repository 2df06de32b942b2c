public import Tracing

/// Traces every handler run of a service node: extracts the caller's trace context from the
/// request's metadata and runs the handler in a server span that continues it, with the
/// span's `ServiceContext` as the task-local, so the handler's own spans, and the calls it
/// makes through a client with a ``ClientTracingInterceptor``, join the same trace.
///
/// ```swift
/// var configuration = ServiceNode.Configuration(name: "kv-1", bind: "tcp://127.0.0.1:5611")
/// configuration.interceptors = [ServerTracingInterceptor()]   // the bootstrapped tracer
/// ```
public struct ServerTracingInterceptor: ServerInterceptor {
    private let tracer: any Tracer

    /// Traces through `tracer`: by default the one bootstrapped in `InstrumentationSystem`.
    public init(tracer: any Tracer = InstrumentationSystem.tracer) {
        self.tracer = tracer
    }

    public func intercept(
        _ request: MeshRequest,
        context: RequestContext,
        next: (MeshRequest, RequestContext) async throws -> MeshReply
    ) async throws -> MeshReply {
        var parent = ServiceContext.current ?? .topLevel
        tracer.extract(request.metadata, into: &parent, using: MetadataExtractor())
        let span = tracer.startSpan(context.name, context: parent, ofKind: .server)
        defer { span.end() }
        span.attributes[RPCAttribute.system] = "zmesh"
        span.attributes[RPCAttribute.service] = ServiceHandlers.serviceName(of: context.method)
        span.attributes[RPCAttribute.method] = ServiceHandlers.methodName(of: context.method)
        do {
            let reply = try await ServiceContext.$current.withValue(span.context) {
                try await next(request, context)
            }
            span.attributes[RPCAttribute.outcome] = "ok"
            return reply
        } catch {
            span.attributes[RPCAttribute.outcome] = error is ServiceError ? "application_error" : "error"
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error))
            throw error
        }
    }
}
