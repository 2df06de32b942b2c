/// What a broker has done so far.
public struct BrokerStats: Sendable, Equatable, Codable {
    /// Requests taken from clients.
    public var requests: UInt64 = 0
    /// Replies and errors passed back to clients: from services, and the broker's own
    /// answers (`mesh.*`, MMI, not found).
    public var replies: UInt64 = 0
    /// Errors the broker answered itself (unavailable, deadline, ...).
    public var errors: UInt64 = 0
    /// Requests refused with `overloaded`: a service queue full, or the broker's or the
    /// client's in-flight limit reached.
    public var overloaded: UInt64 = 0
    /// Requests sent again to another instance after theirs failed.
    public var redispatched: UInt64 = 0
    /// Replies whose client was gone, or whose request the broker no longer tracked.
    public var dropped: UInt64 = 0
    /// Majordomo workers refused at READY: the worker limit, or their services limit, reached.
    public var workersRefused: UInt64 = 0
    /// Requests ended with `tooLarge` because their partial replies passed the message limit.
    public var partialsTooLarge: UInt64 = 0
    /// Peers refused at the CURVE handshake.
    public var refusedPeers: UInt64 = 0
    /// Messages dropped as malformed, by reason.
    public var malformed: [String: UInt64] = [:]
    /// Requests in flight at instances now.
    public var inFlight: Int = 0
    /// Requests waiting in service queues now.
    public var queued: Int = 0
    /// Instances known (from the registries) now, and how many have a working connection.
    public var instances: Int = 0
    /// Instances with a working connection now.
    public var readyInstances: Int = 0
    /// Ready instances per service now.
    public var readyByService: [String: Int] = [:]

    /// All malformed messages dropped.
    public var malformedTotal: UInt64 { malformed.values.reduce(0, +) }

    /// Zero counters.
    public init() {}
}
