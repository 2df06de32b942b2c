public import Tracing

/// Traces every call and stream a client makes: a client span per call, named after the
/// called name, with OpenTelemetry's RPC attributes (`rpc.system` `zmesh`, `rpc.service`,
/// `rpc.method`, `server.address`, and `zmesh.outcome`), parented on the calling task's
/// `ServiceContext`, and its context injected into the request's metadata (W3C
/// `traceparent`/`tracestate` with an OpenTelemetry tracer) so the service's span joins the
/// same trace.
///
/// A stream's span runs from its start to its end (see
/// ``ClientInterceptor/interceptStream(_:context:)``), with the same attributes
/// (`server.address`: the instance, or broker, it was last sent to), plus `zmesh.kind` and
/// the messages each way (`zmesh.messages_sent`, `zmesh.messages_received`).
///
/// ```swift
/// var configuration = MeshClient.Configuration(discovery: .brokers(["tcp://127.0.0.1:5555"]))
/// configuration.interceptors = [ClientTracingInterceptor()]   // the bootstrapped tracer
/// ```
public struct ClientTracingInterceptor: ClientInterceptor {
    private let tracer: any Tracer

    /// Traces through `tracer`: by default the one bootstrapped in `InstrumentationSystem`.
    public init(tracer: any Tracer = InstrumentationSystem.tracer) {
        self.tracer = tracer
    }

    public func intercept(
        _ request: MeshRequest,
        context: ClientCallContext,
        next: (MeshRequest, ClientCallContext) async throws(MeshError) -> MeshReply
    ) async throws(MeshError) -> MeshReply {
        let span = tracer.startSpan(context.name, context: ServiceContext.current ?? .topLevel, ofKind: .client)
        defer { span.end() }
        span.attributes[RPCAttribute.system] = "zmesh"
        span.attributes[RPCAttribute.service] = context.service
        span.attributes[RPCAttribute.method] = context.method
        var request = request
        tracer.inject(span.context, into: &request.metadata, using: MetadataInjector())
        do {
            let reply = try await next(request, context)
            if let endpoint = reply.endpoint { span.attributes[RPCAttribute.serverAddress] = endpoint }
            span.attributes[RPCAttribute.outcome] = "ok"
            return reply
        } catch {
            span.attributes[RPCAttribute.outcome] = error.code.rawValue
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error, message: error.message))
            throw error
        }
    }

    public func interceptStream(_ stream: inout ClientStreamStart, context: ClientCallContext) throws(MeshError) {
        let span = tracer.startSpan(context.name, context: ServiceContext.current ?? .topLevel, ofKind: .client)
        span.attributes[RPCAttribute.system] = "zmesh"
        span.attributes[RPCAttribute.service] = context.service
        span.attributes[RPCAttribute.method] = context.method
        span.attributes[RPCAttribute.kind] = context.kind.rawValue
        tracer.inject(span.context, into: &stream.metadata, using: MetadataInjector())
        stream.onEnd { outcome in
            span.attributes[RPCAttribute.outcome] = outcome.code
            span.attributes[RPCAttribute.messagesSent] = outcome.messagesSent
            span.attributes[RPCAttribute.messagesReceived] = outcome.messagesReceived
            if let address = outcome.serverAddress { span.attributes[RPCAttribute.serverAddress] = address }
            if let error = outcome.error {
                span.recordError(error)
                span.setStatus(SpanStatus(code: .error, message: outcome.meshError?.message ?? "\(error)"))
            }
            span.end()
        }
    }
}

/// Span attribute names, after OpenTelemetry's RPC semantic conventions.
enum RPCAttribute {
    static let system = "rpc.system"
    static let service = "rpc.service"
    static let method = "rpc.method"
    static let serverAddress = "server.address"
    /// How the call ended: `ok`, a ``MeshError/Code`` name, or for a server `application_error`.
    static let outcome = "zmesh.outcome"
    /// A stream's kind: `server-streaming`, `client-streaming` or `bidirectional-streaming`.
    static let kind = "zmesh.kind"
    /// Messages a stream's caller wrote.
    static let messagesSent = "zmesh.messages_sent"
    /// Messages of a stream's replies its caller read.
    static let messagesReceived = "zmesh.messages_received"
}
