public import Logging
public import ServiceLifecycle

/// A registry: soft state fed by heartbeats, answering who is alive.
///
/// Service nodes send it a HEARTBEAT every interval; it evicts an instance after
/// `liveness x interval` of silence and announces every change on its PUB socket. It
/// answers `mesh.lookup` (live instances of a service, or of all) and `mesh.status` (live
/// and recently gone) as RPCs. It holds nothing that heartbeats do not rebuild, so several
/// registries run side by side with no coordination: services heartbeat to all of them,
/// clients ask any.
public final class RegistryNode: Service, Sendable {
    /// How a registry runs.
    public struct Configuration: Sendable {
        /// Node name, such as `registry-1`.
        public var name: String
        /// ROUTER endpoint for heartbeats and look-ups.
        public var bind: String
        /// PUB endpoint for change events, if any.
        public var publish: String?
        /// Heartbeat interval and liveness: silence of `liveness x interval` evicts.
        public var heartbeat: Topology.Heartbeat = .init()
        /// Most instances tracked; heartbeats from further new instances are refused and counted.
        /// A topology file sets it with a registry's `max_instances`.
        public var maxInstances: Int = 100_000
        /// Largest message accepted.
        public var maxMessageBytes: Int = 64 * 1024
        /// While heartbeats keep the registry busy, it reads them at most once per this window,
        /// all that arrived meanwhile in one go: one wake-up per window instead of one per
        /// heartbeat, which is most of what thousands of instances cost it. A look-up waits
        /// at most this long more; an idle registry answers at once. Zero reads at once.
        public var readCoalescing: Duration = .milliseconds(2)
        /// CURVE encryption and authentication; nil for none.
        public var curve: CurveSettings?
        /// With CURVE: service node name -> the services it may announce. A heartbeat is taken
        /// only from a connection authenticated as a node listed here, announcing itself and
        /// only its own services, so no one can register a fake instance. `["*"]` lets a broker
        /// announce the services of its Majordomo workers.
        public var heartbeatPolicy: [String: Set<String>]?
        /// Told the endpoints the registry bound (its ROUTER, then its PUB if any; wildcard ports
        /// resolved) once it listens, on the task that started it; `ReadyFile.announce`
        /// (ZMeshBuiltins) writes them where `scripts/mesh-up.sh` waits for them. Nil tells no one.
        public var onListening: (@Sendable ([String]) -> Void)?

        /// A registry called `name` binding its ROUTER at `bind` and, if given, its PUB at `publish`.
        public init(name: String, bind: String, publish: String? = nil) {
            self.name = name
            self.bind = bind
            self.publish = publish
        }
    }

    private let shell: NodeShell<RegistryCore<ZMQTransport>>
    var core: RegistryCore<ZMQTransport> { shell.core }

    /// Creates a registry on a thread of its own; nothing is bound until ``start()`` or ``run()``.
    public init(configuration: Configuration, logger: Logger) throws {
        shell = try NodeShell(node: configuration.name, logger: logger, onListening: configuration.onListening) {
            RegistryCore(transport: $0, configuration: configuration, logger: $1)
        }
    }

    /// Binds and starts; returns the bound ROUTER endpoint.
    @discardableResult
    public func start() async throws -> String {
        try await shell.start()[0]
    }

    /// Runs until graceful shutdown or cancellation, then closes.
    public func run() async throws {
        try await shell.run(gracePeriod: .zero)
    }

    /// Closes the sockets.
    public func stop() async {
        await shell.stop(gracePeriod: .zero)
    }

    /// Counters of what the registry has done.
    public func stats() async -> RegistryStats { await core.snapshot() }

    /// Live instances of `service`, or of every service.
    public func instances(of service: String? = nil) async -> [InstanceInfo] { await core.instances(of: service) }

    /// The bound PUB endpoint, once started.
    public var publishEndpoint: String? { get async { await core.publishEndpoint } }
}
