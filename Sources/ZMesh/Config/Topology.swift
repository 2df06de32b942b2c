import Foundation

/// A topology file: every node of a mesh and how they connect. Switching topology is
/// switching file; the calling code does not change.
///
/// ```yaml
/// topology: brokerless            # or brokered
/// heartbeat: { interval_ms: 500, liveness: 3 }
/// registries:
///   - { name: registry-1, bind: "tcp://127.0.0.1:5550", publish: "tcp://127.0.0.1:5551" }
/// services:
///   - { name: echo-1, service: echo, bind: "tcp://127.0.0.1:5601" }
///   - { name: kv-1,   service: kv,   bind: "tcp://127.0.0.1:5611" }
/// ```
///
/// Load with ``load(path:environment:)``; see docs/OPERATIONS.md for every key and the
/// environment overrides.
public struct Topology: Sendable, Equatable {
    /// Whether calls go straight to services or through brokers.
    public enum Kind: String, Sendable, Equatable {
        case brokerless
        case brokered
    }

    /// How often services announce themselves, and how many missed announcements evict them.
    public struct Heartbeat: Sendable, Equatable {
        /// Time between heartbeats. Default 500 ms.
        public var interval: Duration = .milliseconds(500)
        /// Heartbeats an instance may miss before registries evict it. Default 3.
        public var liveness: Int = 3

        /// Heartbeats every `interval`; `liveness` missed ones mean gone.
        public init(interval: Duration = .milliseconds(500), liveness: Int = 3) {
            self.interval = interval
            self.liveness = liveness
        }

        /// Silence after which an instance is evicted: `liveness x interval`.
        public var expiry: Duration { interval * liveness }
    }

    /// A registry node.
    public struct Registry: Sendable, Equatable {
        /// Node name, such as `registry-1`.
        public var name: String
        /// ROUTER endpoint services heartbeat to and clients look up at.
        public var bind: String
        /// PUB endpoint where the registry announces changes, if any.
        public var publish: String?
        /// Where the node serves `GET /metrics` for Prometheus (`HOST:PORT`), if anywhere.
        /// See ``MetricsAddress``.
        public var metrics: String?
        /// Most instances the registry tracks (`max_instances`); nil for the default (100,000).
        public var maxInstances: Int?
        /// How long a busy registry lets heartbeats gather before reading them in one go
        /// (`read_coalescing_ms`; zero reads each at once); nil for the default (2 ms). See
        /// ``RegistryNode/Configuration/readCoalescing``.
        public var readCoalescing: Duration?

        /// A registry entry of a topology file.
        public init(name: String, bind: String, publish: String? = nil, metrics: String? = nil, maxInstances: Int? = nil,
                    readCoalescing: Duration? = nil) {
            self.name = name
            self.bind = bind
            self.publish = publish
            self.metrics = metrics
            self.maxInstances = maxInstances
            self.readCoalescing = readCoalescing
        }
    }

    /// A broker node (brokered topologies).
    public struct Broker: Sendable, Equatable {
        /// Node name, such as `broker-1`.
        public var name: String
        /// ROUTER front end that clients connect to.
        public var bind: String
        /// ROUTER endpoint where Majordomo workers (MDP/0.1 or MDP/0.2, docs/INTEROP.md) connect, if any.
        public var workers: String?
        /// Most requests waiting per service when every instance is at capacity, if not the default.
        public var maxQueue: Int?
        /// How long an MDP request waits for a worker or instance before FINAL `504`, if not the
        /// default (10 s).
        public var majordomoExpiry: Duration?
        /// Where the node serves `GET /metrics` for Prometheus (`HOST:PORT`), if anywhere.
        /// See ``MetricsAddress``.
        public var metrics: String?

        /// A broker entry of a topology file.
        public init(name: String, bind: String, workers: String? = nil, maxQueue: Int? = nil, majordomoExpiry: Duration? = nil,
                    metrics: String? = nil) {
            self.name = name
            self.bind = bind
            self.workers = workers
            self.maxQueue = maxQueue
            self.majordomoExpiry = majordomoExpiry
            self.metrics = metrics
        }
    }

    /// A service node: one process hosting one or more services.
    public struct ServiceInstance: Sendable, Equatable {
        /// Node name, such as `echo-1`.
        public var name: String
        /// Services it hosts, such as `["echo"]`.
        public var services: [String]
        /// ROUTER endpoint it binds.
        public var bind: String
        /// Endpoint others should connect to, when `bind` is not one (`tcp://*:5601`, say).
        public var advertise: String?
        /// Most handlers running at once, if not the default.
        public var maxConcurrency: Int?
        /// Most requests waiting for a handler, if not the default.
        public var maxQueue: Int?
        /// A program to run for this node instead of `zmesh node` (one of the Examples, say).
        /// `scripts/mesh-up.sh` runs it as `EXECUTABLE ARGS... --node NAME --config FILE`.
        public var executable: String?
        /// Extra arguments for `executable`.
        public var arguments: [String]
        /// Where the node serves `GET /metrics` for Prometheus (`HOST:PORT`), if anywhere.
        /// See ``MetricsAddress``.
        public var metrics: String?

        /// A service node entry of a topology file.
        public init(name: String, services: [String], bind: String, advertise: String? = nil,
                    maxConcurrency: Int? = nil, maxQueue: Int? = nil, executable: String? = nil, arguments: [String] = [],
                    metrics: String? = nil) {
            self.name = name
            self.services = services
            self.bind = bind
            self.advertise = advertise
            self.maxConcurrency = maxConcurrency
            self.maxQueue = maxQueue
            self.executable = executable
            self.arguments = arguments
            self.metrics = metrics
        }

        /// Where clients and brokers connect: `advertise`, else `bind`.
        public var endpoint: String { advertise ?? bind }
    }

    /// CURVE for every node of the file: who holds which keys, and which clients may call.
    public struct Security: Sendable, Equatable {
        /// Where `NAME.key` and `NAME.pub` live (relative paths in the file are taken from the
        /// file's own directory).
        public var keysDirectory: String
        /// Names of the client key pairs allowed to call (`zmesh call --key NAME`).
        public var clients: [String]

        /// CURVE on, with keys in `keysDirectory` and these client key names allowed.
        public init(keysDirectory: String, clients: [String] = []) {
            self.keysDirectory = keysDirectory
            self.clients = clients
        }
    }

    /// One node of the file, whatever its role.
    public enum Node: Sendable, Equatable {
        case registry(Registry)
        case broker(Broker)
        case service(ServiceInstance)

        /// The node's name in the file.
        public var name: String {
            switch self {
            case .registry(let registry): registry.name
            case .broker(let broker): broker.name
            case .service(let service): service.name
            }
        }

        /// Where the node serves `GET /metrics` (`HOST:PORT`), if the file says.
        public var metrics: String? {
            switch self {
            case .registry(let registry): registry.metrics
            case .broker(let broker): broker.metrics
            case .service(let service): service.metrics
            }
        }

        /// `registry`, `broker` or `service`.
        public var role: String {
            switch self {
            case .registry: "registry"
            case .broker: "broker"
            case .service: "service"
            }
        }
    }

    /// Brokered or broker-less: where clients send calls.
    public var kind: Kind
    /// How often nodes heartbeat, and how many missed beats mean gone.
    public var heartbeat: Heartbeat
    /// The registries, in file order.
    public var registries: [Registry]
    /// The brokers, in file order (none broker-less).
    public var brokers: [Broker]
    /// The service nodes, in file order.
    public var services: [ServiceInstance]
    /// CURVE encryption and authentication, when the file turns it on (`security: { curve: true }`).
    public var security: Security?
    /// The etcd cluster that holds the mesh's instances in place of `registries`, when the file
    /// says `registry: { etcd: { ... } }`.
    public var etcd: Etcd?
    /// What a request's or reply's metadata may hold, for every node and client of the file
    /// (`limits: { metadata_entries: 64, metadata_bytes: 8192 }`).
    public var metadataLimits: MetadataLimits = .default
    /// The file this came from, for messages.
    public var path: String

    /// A topology made in code rather than read from a file.
    public init(kind: Kind, heartbeat: Heartbeat = Heartbeat(), registries: [Registry], brokers: [Broker] = [],
                services: [ServiceInstance], path: String = "<memory>") {
        self.kind = kind
        self.heartbeat = heartbeat
        self.registries = registries
        self.brokers = brokers
        self.services = services
        self.path = path
    }

    /// Every node in start order: registries, then brokers, then services.
    public var nodes: [Node] {
        registries.map(Node.registry) + brokers.map(Node.broker) + services.map(Node.service)
    }

    /// The node called `name`, if any.
    public func node(named name: String) -> Node? {
        nodes.first { $0.name == name }
    }

    /// Every service name hosted somewhere in the file, sorted.
    public var serviceNames: [String] {
        Set(services.flatMap(\.services)).sorted()
    }
}
