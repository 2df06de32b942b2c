/// How one call behaves.
public struct CallOptions: Sendable {
    /// How long the call may take in all, retries included. Default 5 seconds.
    public var timeout: Duration
    /// Whether the call may run more than once: an idempotent call whose instance dies is
    /// re-sent to another live instance with the same request id. Default true. A call that
    /// opts out gets ``MeshError/Code/unavailable`` with ``MeshError/mayHaveRun`` instead.
    public var idempotent: Bool
    /// Most times the call is sent in all (first try included). Default 3.
    public var maxAttempts: Int
    /// Metadata sent with the call (an auth token, a tenant id, a W3C `traceparent`), merged
    /// over the request's own. Bounded by the mesh's ``MetadataLimits``: more is refused with
    /// ``MeshError/Code/badRequest`` before anything is sent. Default none.
    public var metadata: Metadata

    /// Options for a call; each default is the one documented on its property.
    public init(timeout: Duration = .seconds(5), idempotent: Bool = true, maxAttempts: Int = 3, metadata: Metadata = Metadata()) {
        self.timeout = timeout
        self.idempotent = idempotent
        self.maxAttempts = max(1, maxAttempts)
        self.metadata = metadata
    }
}
