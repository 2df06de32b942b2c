/// How a client finds the instances behind a name.
public enum Discovery: Sendable, Equatable {
    /// Fixed service endpoints, each able to serve every name called.
    case endpoints([String])
    /// Registries to look names up at (any live one answers), each with the PUB endpoint
    /// where it announces changes, if it has one. Calls go straight to the instances.
    case registries([RegistryAddress])
    /// Broker front ends: any broker routes any name, and calls spread over the live ones.
    case brokers([String])
}

/// Where a registry listens.
public struct RegistryAddress: Sendable, Equatable {
    /// Its ROUTER: look-ups.
    public var endpoint: String
    /// Its PUB: change events, if any.
    public var publish: String?

    /// A registry at `endpoint`, publishing change events at `publish` if given.
    public init(endpoint: String, publish: String? = nil) {
        self.endpoint = endpoint
        self.publish = publish
    }
}
