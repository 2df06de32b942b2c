/// A call through the client's interceptors (``MeshClient/Configuration/interceptors``).
extension ClientCore {
    /// Calls `name` with a whole request: ``CallOptions/metadata`` merged over the request's,
    /// then every interceptor in order, first one outermost, then the call itself, numbered by
    /// `nextSequence` (one number per call that reaches the table).
    nonisolated func call(_ name: String, request: MeshRequest, options: CallOptions,
                          nextSequence: @escaping @Sendable () -> UInt64) async throws(MeshError) -> MeshReply {
        var request = request
        request.metadata.merge(options.metadata)
        return try await intercepted(configuration.interceptors[...], request,
                                     ClientCallContext(name: name, options: options), nextSequence: nextSequence)
    }

    private nonisolated func intercepted(_ chain: ArraySlice<any ClientInterceptor>, _ request: MeshRequest, _ context: ClientCallContext,
                                         nextSequence: @escaping @Sendable () -> UInt64) async throws(MeshError) -> MeshReply {
        guard let first = chain.first else {
            return try await call(context.name, request.payload, metadata: request.metadata, options: context.options,
                                  sequence: nextSequence())
        }
        return try await first.intercept(request, context: context) { (request, context) async throws(MeshError) -> MeshReply in
            try await self.intercepted(chain.dropFirst(), request, context, nextSequence: nextSequence)
        }
    }
}
