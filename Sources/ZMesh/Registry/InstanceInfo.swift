/// One service instance as a registry knows it: what `mesh.lookup` and `mesh.status` answer.
public struct InstanceInfo: Codable, Sendable, Equatable {
    /// What the registry thinks of it now.
    public enum Health: String, Codable, Sendable, CaseIterable {
        /// Heartbeating.
        case live
        /// Silent past the liveness limit, so evicted.
        case evicted
        /// Said goodbye (graceful shutdown).
        case left
        /// Another instance took over its endpoint (a restart).
        case replaced
    }

    /// Unique per process start.
    public var instance: String
    /// Node name in the topology.
    public var node: String
    /// Where to connect.
    public var endpoint: String
    /// Services it hosts.
    public var services: [String]
    /// Requests in progress at its last heartbeat.
    public var load: Int
    /// Most handlers it runs at once.
    public var capacity: Int
    /// Health as of this answer.
    public var health: Health
    /// Milliseconds since its last heartbeat (or since it left), as of this answer.
    public var lastHeartbeatMillisecondsAgo: Int
    /// "broker" for a broker's front end standing for its Majordomo workers; nil for service nodes.
    public var role: String?

    enum CodingKeys: String, CodingKey {
        case instance, node, endpoint, services, load, capacity, health, role
        case lastHeartbeatMillisecondsAgo = "last_heartbeat_ms_ago"
    }
}

/// A registry's answer to `mesh.lookup` or `mesh.status`.
public struct LookupReply: Codable, Sendable, Equatable {
    /// The registry that answered.
    public var registry: String
    /// Instances: live ones for `mesh.lookup`; live and recently gone for `mesh.status`.
    public var instances: [InstanceInfo]
    /// False while the registry is new (just started or restarted) and may not have heard
    /// every live instance yet: such an answer adds instances but must not remove any.
    public var complete: Bool

    /// An answer from `registry` listing `instances`; `complete` false while it may not know them all.
    public init(registry: String, instances: [InstanceInfo], complete: Bool = true) {
        self.registry = registry
        self.instances = instances
        self.complete = complete
    }

    enum CodingKeys: String, CodingKey { case registry, instances, complete }

    /// Decodes an answer; one without `complete` (an older registry) counts as complete.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        registry = try container.decode(String.self, forKey: .registry)
        instances = try container.decode([InstanceInfo].self, forKey: .instances)
        complete = try container.decodeIfPresent(Bool.self, forKey: .complete) ?? true
    }
}
