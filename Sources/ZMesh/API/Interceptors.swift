/// Code that runs around every call a ``MeshClient`` makes, in the manner of grpc-swift's
/// interceptors and hummingbird's middleware: it can read and change the request's metadata,
/// time the call, look at the reply, or end the call with an error of its own.
///
/// Interceptors run in the order of ``MeshClient/Configuration/interceptors``: the first sees
/// the call first and the reply last. Each calls `next` to go on (or does not, to end the call).
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

    /// The context of a call of `name` with `options`.
    public init(name: String, options: CallOptions) {
        self.name = name
        self.options = options
    }
}
