/// How a client finds the instances behind a name.
public enum Discovery: Sendable {
    /// Fixed service endpoints, each able to serve every name called.
    case endpoints([String])
    /// Registries to look names up at (any live one answers), each with the PUB endpoint
    /// where it announces changes, if it has one. Calls go straight to the instances.
    case registries([RegistryAddress])
    /// Broker front ends: any broker routes any name, and calls spread over the live ones.
    case brokers([String])
    /// An instance directory other than the built-in registries (etcd: ZMeshEtcd's
    /// `EtcdDirectory`). Calls go straight to the instances it lists.
    case directory(any InstanceDirectory)
}

extension Discovery: Equatable {
    /// Directories compare by name.
    public static func == (lhs: Discovery, rhs: Discovery) -> Bool {
        switch (lhs, rhs) {
        case (.endpoints(let a), .endpoints(let b)), (.brokers(let a), .brokers(let b)): a == b
        case (.registries(let a), .registries(let b)): a == b
        case (.directory(let a), .directory(let b)): a.name == b.name
        default: false
        }
    }
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

extension Discovery {
    /// Whether names are looked up (registries or a directory) rather than fixed.
    var looksUp: Bool {
        switch self {
        case .registries, .directory: true
        case .endpoints, .brokers: false
        }
    }
}
