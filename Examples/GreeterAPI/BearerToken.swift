// Interceptors, as you would write your own: a shared secret carried as a bearer token in
// each call's metadata, added by every call a client makes and checked before every handler
// a service runs. (For real authentication between machines use CURVE, docs/SECURITY.md; a
// token like this one says which caller it is, on top.)
public import ZMesh

/// Adds `authorization: Bearer TOKEN` to every call and stream.
public struct BearerTokenClientInterceptor: ClientInterceptor {
    private let token: String

    public init(token: String) { self.token = token }

    public func intercept(
        _ request: MeshRequest, context: ClientCallContext,
        next: (MeshRequest, ClientCallContext) async throws(MeshError) -> MeshReply
    ) async throws(MeshError) -> MeshReply {
        var request = request
        request.metadata["authorization"] = "Bearer \(token)"
        return try await next(request, context)
    }

    public func interceptStream(_ stream: inout ClientStreamStart, context: ClientCallContext) throws(MeshError) {
        stream.metadata["authorization"] = "Bearer \(token)"
    }
}

/// Refuses calls without `authorization: Bearer TOKEN` with application error 401, before
/// the handler runs.
public struct BearerTokenServerInterceptor: ServerInterceptor {
    private let expected: [UInt8]

    public init(token: String) { expected = Array("Bearer \(token)".utf8) }

    public func intercept(
        _ request: MeshRequest, context: RequestContext,
        next: (MeshRequest, RequestContext) async throws -> MeshReply
    ) async throws -> MeshReply {
        guard let given = request.metadata[bytes: "authorization"], Self.same(given, expected) else {
            context.logger.notice("refused a call without a valid token")
            throw ServiceError(code: 401, message: "\(context.method) needs a valid bearer token")
        }
        return try await next(request, context)
    }

    /// Compares in time that depends on the lengths only, not on where they first differ.
    private static func same(_ given: [UInt8], _ expected: [UInt8]) -> Bool {
        guard given.count == expected.count else { return false }
        var difference: UInt8 = 0
        for index in given.indices { difference |= given[index] ^ expected[index] }
        return difference == 0
    }
}
