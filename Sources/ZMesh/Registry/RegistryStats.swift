/// What a registry has done so far.
public struct RegistryStats: Sendable, Equatable {
    /// Heartbeats accepted, keep-alives included.
    public var heartbeats: UInt64 = 0
    /// Keep-alives accepted: heartbeats that named no announcement, only a load.
    public var keepAlives: UInt64 = 0
    /// Keep-alives from a connection with no live instance, answered "send the whole announcement".
    public var announcementsAsked: UInt64 = 0
    /// Heartbeats refused (table full).
    public var refused: UInt64 = 0
    /// Heartbeats dropped because one connection sent them faster than a quarter interval apart.
    public var floodDropped: UInt64 = 0
    /// Heartbeats refused by the security policy (not from that service node's key).
    public var forbidden: UInt64 = 0
    /// Announcements refused because they did not come from the connection named after their
    /// instance (a node names its registry connection after its instance id).
    public var spoofed: UInt64 = 0
    /// Peers refused at the CURVE handshake.
    public var refusedPeers: UInt64 = 0
    /// Look-ups answered.
    public var lookups: UInt64 = 0
    /// Instances evicted for silence.
    public var evictions: UInt64 = 0
    /// Instances that left gracefully.
    public var departures: UInt64 = 0
    /// Change events published.
    public var published: UInt64 = 0
    /// Messages dropped as malformed, by reason.
    public var malformed: [String: UInt64] = [:]
    /// Live instances now.
    public var liveInstances: Int = 0

    /// All malformed messages dropped.
    public var malformedTotal: UInt64 { malformed.values.reduce(0, +) }

    /// Zero counters.
    public init() {}
}
