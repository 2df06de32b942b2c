/// A call's request as interceptors and full handlers see it: the payload and its metadata.
public struct MeshRequest: Sendable {
    /// The request's bytes.
    public var payload: [UInt8]
    /// The request's metadata (``CallOptions/metadata`` merged in, on a client).
    public var metadata: Metadata

    /// A request of `payload` with `metadata`.
    public init(payload: [UInt8], metadata: Metadata = Metadata()) {
        self.payload = payload
        self.metadata = metadata
    }
}

/// A call's reply: the payload and the trailing metadata its handler (or an interceptor) set.
public struct MeshReply: Sendable {
    /// The reply's bytes.
    public var payload: [UInt8]
    /// Trailing metadata.
    public var metadata: Metadata
    /// On a client: the endpoint that answered (the instance, or the broker in front of it).
    public var endpoint: String?

    /// A reply of `payload` with `metadata`.
    public init(payload: [UInt8], metadata: Metadata = Metadata()) {
        self.payload = payload
        self.metadata = metadata
    }
}
