public import Tracing
public import Logging
public import ServiceLifecycle

/// A broker: routes each request by service name to the live instance with the fewest
/// outstanding calls, so clients need only the brokers' addresses.
///
/// Clients connect DEALERs to its front-end ROUTER. Its back-end ROUTER connects to every
/// service instance the registries list (services stay ROUTERs that bind), addressing each
/// by its instance id. When every instance of a service is at its capacity, requests wait in
/// a bounded per-service queue; beyond it callers get ``MeshError/Code/overloaded`` at once,
/// so memory stays bounded. When an instance dies (its connection drops, or registries evict
/// it), its idempotent requests in flight go to another live instance with the same request
/// id. Brokers keep no state a restart loses that matters: run two, and clients fail over.
public final class BrokerNode: Service, Sendable {
    /// How a broker runs.
    public struct Configuration: Sendable {
        /// Node name, such as `broker-1`.
        public var name: String
        /// Front-end ROUTER endpoint for clients.
        public var bind: String
        /// Registries to learn instances from.
        public var registries: [RegistryAddress] = []
        /// An instance directory to find instances in (and announce Majordomo workers to)
        /// instead of registries (etcd: ZMeshEtcd's `EtcdDirectory`).
        public var directory: (any InstanceDirectory)?
        /// Heartbeat interval: how often registries are asked again (twice per interval).
        public var heartbeat: Topology.Heartbeat = .init()
        /// Most requests waiting per service when every instance is at capacity.
        public var maxQueuePerService: Int = 1_000
        /// Most requests in flight and queued in all; beyond it callers get `overloaded`.
        public var maxInFlight: Int = 100_000
        /// Most requests one client may have held here at once; beyond it that client gets
        /// `overloaded` and others are served.
        public var maxInFlightPerClient: Int = 10_000
        /// ZMTP heartbeat interval towards clients and services; silence of three drops a peer.
        public var peerHeartbeatInterval: Duration = .milliseconds(500)
        /// Largest message accepted.
        public var maxMessageBytes: Int = 64 * 1024 * 1024
        /// Endpoint where Majordomo workers (MDP/0.1 or MDP/0.2, docs/INTEROP.md) connect, if any.
        public var workers: String?
        /// Most Majordomo workers registered at once; a READY past it gets DISCONNECT. (Their
        /// distinct services are also capped, at the 64 one registry announcement carries.)
        public var maxWorkers: Int = 1_024
        /// CURVE encryption and authentication; nil for none.
        public var curve: CurveSettings?
        /// How long an MDP client's request may wait for a worker or service (MDP requests
        /// carry no deadline; RFC 18 asks brokers to expire them after a configurable time).
        public var majordomoRequestTimeout: Duration = .seconds(10)
        /// The longest the broker holds one request: the deadline of a request without a
        /// budget, and a cap on longer budgets. Past it the client gets `deadlineExceeded`.
        public var maxRequestLifetime: Duration = .seconds(600)
        /// How long past a request's deadline the broker waits for the instance holding it
        /// before it answers the client itself (and drops a Majordomo worker that froze).
        public var lateReplyGrace: Duration = .seconds(5)
        /// How long a graceful stop waits for requests in flight.
        public var gracePeriod: Duration = .seconds(10)
        /// Told the endpoint the broker bound for clients (with any wildcard port resolved) once
        /// it listens, on the task that started it; `ReadyFile.announce` (ZMeshBuiltins) writes
        /// it where `scripts/mesh-up.sh` waits for it. Nil tells no one.
        public var onListening: (@Sendable ([String]) -> Void)?
        /// Traces each native request's hop through the broker: a span that continues the
        /// caller's trace (from the request's metadata) and that the instance's span is
        /// parented on. Nil (the default) traces nothing and passes metadata through untouched.
        public var tracer: (any Tracer)?

        /// A broker called `name` binding its front end at `bind`, with the defaults above.
        public init(name: String, bind: String) {
            self.name = name
            self.bind = bind
        }
    }

    private let shell: NodeShell<BrokerCore<ZMQTransport>>
    var core: BrokerCore<ZMQTransport> { shell.core }

    /// Creates a broker on a thread of its own; nothing is bound until ``start()`` or ``run()``.
    public init(configuration: Configuration, logger: Logger) throws {
        shell = try NodeShell(node: configuration.name, logger: logger, onListening: configuration.onListening) {
            BrokerCore(transport: $0, configuration: configuration, logger: $1)
        }
    }

    /// Binds the front end, starts watching the registries; returns the bound front-end endpoint.
    @discardableResult
    public func start() async throws -> String {
        try await shell.start()[0]
    }

    /// Runs until graceful shutdown or cancellation, then stops.
    public func run() async throws {
        try await shell.run(gracePeriod: core.configuration.gracePeriod)
    }

    /// Stops taking requests (clients re-send new ones through another broker), hands queued
    /// ones back unrun, waits up to `gracePeriod` for those in flight, then closes.
    public func stop(gracePeriod: Duration? = nil) async {
        await shell.stop(gracePeriod: gracePeriod ?? core.configuration.gracePeriod)
    }

    /// Counters of what the broker has done.
    public func stats() async -> BrokerStats { await core.snapshot() }
}
