/// What a service node has done so far.
public struct ServiceStats: Sendable, Equatable {
    /// REQUEST messages accepted (cache hits and duplicates included).
    public var requests: UInt64 = 0
    /// Handler runs started.
    public var handlerRuns: UInt64 = 0
    /// REPLY messages sent.
    public var replies: UInt64 = 0
    /// ERROR messages sent.
    public var errors: UInt64 = 0
    /// Retries answered from the reply cache without running again.
    public var cacheHits: UInt64 = 0
    /// Retries that arrived while the first try still ran, answered by that run.
    public var duplicatesJoined: UInt64 = 0
    /// Requests answered with a deadline error without running.
    public var expired: UInt64 = 0
    /// Requests refused with `overloaded`: the queue was full, or their client already held
    /// `maxInFlightPerClient` requests.
    public var overloaded: UInt64 = 0
    /// CANCEL messages that stopped a queued or running request.
    public var cancelled: UInt64 = 0
    /// Running handlers stopped because their request's deadline passed (answered
    /// `deadline exceeded`); the caller's CANCEL, which races with this, counts as `cancelled`.
    public var stoppedAtDeadline: UInt64 = 0
    /// Replies whose client was gone.
    public var unroutableReplies: UInt64 = 0
    /// Peers refused at the CURVE handshake (key not allowed, or not a CURVE client).
    public var refusedPeers: UInt64 = 0
    /// Request-stream messages (PART) dropped: their stream was over, never started, or
    /// belongs to another peer.
    public var streamPartsDropped: UInt64 = 0
    /// Request streams ended because the caller sent more than the credit it was granted.
    public var streamOverruns: UInt64 = 0
    /// Messages dropped as malformed, by reason.
    public var malformed: [String: UInt64] = [:]
    /// Handlers running now.
    public var running: Int = 0
    /// Requests waiting for a handler slot now.
    public var queued: Int = 0

    /// All malformed messages dropped.
    public var malformedTotal: UInt64 { malformed.values.reduce(0, +) }

    /// Zero counters.
    public init() {}
}
