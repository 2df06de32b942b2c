/// What a client has done so far.
public struct ClientStats: Sendable, Equatable {
    /// Calls started.
    public var calls: UInt64 = 0
    /// Calls that ended in a reply.
    public var succeeded: UInt64 = 0
    /// Calls that ended in an error, by ``MeshError/Code`` name.
    public var failed: [String: UInt64] = [:]
    /// Re-sends after an instance or broker failed.
    public var retries: UInt64 = 0
    /// Replies for calls that had already ended (a retry's twin, or after a timeout).
    public var lateReplies: UInt64 = 0
    /// Messages dropped as malformed, by reason.
    public var malformed: [String: UInt64] = [:]
    /// Messages streams delivered (``MeshClient/stream(_:_:options:window:)-(String,_,_,_)``).
    public var streamMessages: UInt64 = 0
    /// Messages request streams sent (``MeshClient/clientStream(_:options:requests:)->MeshReply``).
    public var streamMessagesSent: UInt64 = 0
    /// Calls in flight now.
    public var inFlight: Int = 0

    /// Zero counters.
    public init() {}
}
