/// Code that runs around every call a ``MeshClient`` makes, in the manner of grpc-swift's
/// interceptors and hummingbird's middleware: it can read and change the request's metadata,
/// time the call, look at the reply, or end the call with an error of its own.
///
/// Interceptors run in the order of ``MeshClient/Configuration/interceptors``: the first sees
/// the call first and the reply last. Each calls `next` to go on (or does not, to end the call).
///
/// Streams (server, client and bidirectional) go through
/// ``interceptStream(_:context:)`` instead, in the same order: an interceptor sees a stream's
/// start and may register what runs at its end. Its default does nothing, so an interceptor
/// written for calls only leaves streams as they are.
///
/// ```swift
/// struct BearerToken: ClientInterceptor {
///     let token: String
///     func intercept(_ request: MeshRequest, context: ClientCallContext,
///                    next: (MeshRequest, ClientCallContext) async throws(MeshError) -> MeshReply) async throws(MeshError) -> MeshReply {
///         var request = request
///         request.metadata["authorization"] = "Bearer \(token)"
///         return try await next(request, context)
///     }
/// }
/// ```
public protocol ClientInterceptor: Sendable {
    /// Runs around one call; `next` runs the rest of the chain and the call itself.
    func intercept(
        _ request: MeshRequest,
        context: ClientCallContext,
        next: (MeshRequest, ClientCallContext) async throws(MeshError) -> MeshReply
    ) async throws(MeshError) -> MeshReply

    /// Runs at the start of one stream (``ClientCallContext/kind`` says which kind), before
    /// anything is sent: it can change ``ClientStreamStart/metadata`` (add a token, inject a
    /// trace context), register with ``ClientStreamStart/onEnd(_:)`` what runs once when the
    /// stream ends, or refuse the stream by throwing: nothing is sent, the caller's stream
    /// throws that error, and the interceptors before this one see it as the stream's end.
    ///
    /// Streams start synchronously, so this does not await. The default implementation does
    /// nothing.
    ///
    /// ```swift
    /// func interceptStream(_ stream: inout ClientStreamStart, context: ClientCallContext) throws(MeshError) {
    ///     stream.metadata["authorization"] = "Bearer \(token)"
    ///     stream.onEnd { outcome in print(context.name, outcome.code, outcome.messagesReceived) }
    /// }
    /// ```
    func interceptStream(_ stream: inout ClientStreamStart, context: ClientCallContext) throws(MeshError)
}

/// Code that runs around every handler of a service node: the server side of
/// ``ClientInterceptor``. It can read and change the request's metadata, set the reply's
/// trailing metadata, time the handler, or refuse the call by throwing (a ``ServiceError``
/// reaches the caller as ``MeshError/Code/application``; any other error as
/// ``MeshError/Code/internalError``).
///
/// Interceptors run in the order given to the node; requests the node refuses before any
/// handler runs (overloaded, expired, unknown name, draining) pass through none.
public protocol ServerInterceptor: Sendable {
    /// Runs around one handler run; `next` runs the rest of the chain and the handler.
    func intercept(
        _ request: MeshRequest,
        context: RequestContext,
        next: (MeshRequest, RequestContext) async throws -> MeshReply
    ) async throws -> MeshReply
}

/// What a ``ClientInterceptor`` knows of the call it runs around.
public struct ClientCallContext: Sendable {
    /// The called name, such as `kv.get`.
    public let name: String
    /// The service the name belongs to: the part before the first dot (`kv`).
    public var service: String { ServiceHandlers.serviceName(of: name) }
    /// The method: the part after the first dot (`get`), or the whole name if it has none.
    public var method: String { ServiceHandlers.methodName(of: name) }
    /// The options the call runs with (the client's defaults when the caller gave none).
    public var options: CallOptions
    /// What kind of call this is: ``MethodKind/unary`` for a call, else the kind of stream.
    public let kind: MethodKind

    /// The context of a call of `name` with `options`, of `kind` (a unary call by default).
    public init(name: String, options: CallOptions, kind: MethodKind = .unary) {
        self.name = name
        self.options = options
        self.kind = kind
    }
}
