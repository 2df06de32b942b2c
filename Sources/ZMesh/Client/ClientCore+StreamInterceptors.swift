/// The start of a stream through the client's interceptors (``ClientInterceptor/interceptStream(_:context:)``).
extension ClientCore {
    /// Starts a stream of `kind` calling `name` through every interceptor, first one first:
    /// ``CallOptions/metadata``, then what each sets. Returns the metadata to send and the
    /// ending that runs the end handlers they registered (nil if none did). If one refuses,
    /// the end handlers registered before it run at once with its error, and this throws it.
    /// From any thread; only for a client with interceptors.
    nonisolated func interceptStreamStart(_ name: String, kind: MethodKind,
                                          options: CallOptions) throws(MeshError) -> (metadata: Metadata, ending: ClientStreamEnding?) {
        var start = ClientStreamStart(metadata: options.metadata)
        let context = ClientCallContext(name: name, options: options, kind: kind)
        for interceptor in configuration.interceptors {
            do {
                try interceptor.interceptStream(&start, context: context)
            } catch {
                if !start.endHandlers.isEmpty {
                    ClientStreamEnding(name: name, kind: kind, handlers: start.endHandlers).end(error)
                }
                throw error
            }
        }
        guard !start.endHandlers.isEmpty else { return (start.metadata, nil) }
        return (start.metadata, ClientStreamEnding(name: name, kind: kind, handlers: start.endHandlers))
    }
}
