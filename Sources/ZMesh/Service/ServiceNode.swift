public import Logging
public import ServiceLifecycle

/// A node that hosts named handlers behind a ROUTER socket.
///
/// Requests arrive on the node's event loop thread; each handler runs as its own task on the
/// global concurrent executor, up to ``Configuration/maxConcurrentHandlers`` at once, so a
/// slow handler never holds up other calls (or heartbeats). Inline handlers
/// (`ServiceHandlers.registerInline`) are the exception: they run at once on the loop
/// thread, outside those limits, so they must be quick and never wait. Replies go back along the
/// envelope the request came with, so the node works the same behind a broker or not.
///
/// A `ServiceNode` is a swift-service-lifecycle `Service`: run it in a `ServiceGroup` and
/// SIGTERM drains it gracefully.
///
/// ```swift
/// var handlers = ServiceHandlers()
/// handlers.register("echo") { payload, _ in payload }
/// let node = try ServiceNode(
///     configuration: .init(name: "echo-1", bind: "tcp://127.0.0.1:5601"),
///     handlers: handlers, logger: logger)
/// try await node.run()
/// ```
public final class ServiceNode: Service, Sendable {
    /// How a node serves.
    public struct Configuration: Sendable {
        /// The node's name in the topology, such as `echo-1`.
        public var name: String
        /// The endpoint to bind, such as `tcp://127.0.0.1:5601` (`tcp://127.0.0.1:*` for any port).
        public var bind: String
        /// Most handlers running at once; further requests wait in a queue.
        public var maxConcurrentHandlers: Int = 256
        /// Most requests waiting for a handler; beyond it callers get ``MeshError/Code/overloaded``.
        public var maxQueuedRequests: Int = 10_000
        /// Most requests one client (one route) may have in progress here at once; beyond it
        /// that client gets ``MeshError/Code/overloaded`` and others are served.
        public var maxInFlightPerClient: Int = 10_000
        /// Replies kept for retries, by count.
        public var replyCacheEntries: Int = 10_000
        /// Replies kept for retries, by bytes.
        public var replyCacheBytes: Int = 32 * 1024 * 1024
        /// How long a graceful stop waits for running handlers.
        public var gracePeriod: Duration = .seconds(10)
        /// ZMTP heartbeat interval towards connected peers; a silent peer is dropped after three.
        public var peerHeartbeatInterval: Duration = .milliseconds(500)
        /// libzmq's per-peer queue bound in messages.
        public var socketHighWaterMark: Int32 = 100_000
        /// Registry endpoints to heartbeat to (none: the node is reachable by endpoint only).
        public var registries: [String] = []
        /// An instance directory to announce to instead of registries (etcd: ZMeshEtcd's
        /// `EtcdDirectory`); its registrations expire `heartbeat.expiry` after the last beat.
        public var directory: (any InstanceDirectory)?
        /// Heartbeat interval (and the liveness registries apply).
        public var heartbeat: Topology.Heartbeat = .init()
        /// The endpoint to announce, when `bind` is not one clients can connect to
        /// (`tcp://*:5601`, say). Default: the bound endpoint.
        public var advertise: String?
        /// CURVE encryption and authentication; nil for none.
        public var curve: CurveSettings?
        /// Told the endpoint the node bound (with any wildcard port resolved) once it listens,
        /// on the task that started it; `ReadyFile.announce` (ZMeshBuiltins) writes it where
        /// `scripts/mesh-up.sh` waits for it. Nil tells no one.
        public var onListening: (@Sendable ([String]) -> Void)?
        /// Run around every handler, first one outermost (see ``ServerInterceptor``): auth,
        /// tracing (``ServerTracingInterceptor``), metrics (``ServerMetricsInterceptor``).
        /// With any set, inline handlers run as tasks too. Default none.
        public var interceptors: [any ServerInterceptor] = []
        /// What a request's metadata may hold; more is refused with `bad request`.
        public var metadataLimits: MetadataLimits = .default
        /// How often expired requests are looked for while some have deadlines.
        var sweepInterval: Duration = .milliseconds(50)
        /// Limits inbound messages must keep.
        var limits: Envelope.Limits = .default

        /// A node called `name` binding its ROUTER at `bind`, with the defaults below.
        public init(name: String, bind: String) {
            self.name = name
            self.bind = bind
        }
    }

    private let shell: NodeShell<ServiceCore<ZMQTransport>>
    var core: ServiceCore<ZMQTransport> { shell.core }

    /// Creates a node on a thread of its own; nothing is bound until ``start()`` or ``run()``.
    public init(configuration: Configuration, handlers: ServiceHandlers, logger: Logger) throws {
        shell = try NodeShell(node: configuration.name, logger: logger, onListening: configuration.onListening) {
            ServiceCore(transport: $0, configuration: configuration, handlers: handlers, logger: $1)
        }
    }

    /// Binds and starts serving; returns the bound endpoint (with any wildcard port resolved).
    @discardableResult
    public func start() async throws -> String {
        try await shell.start()[0]
    }

    /// Serves until graceful shutdown (or cancellation), then stops as ``stop(gracePeriod:)`` does.
    public func run() async throws {
        try await shell.run(gracePeriod: core.configuration.gracePeriod)
    }

    /// Stops taking requests, lets running ones finish for up to `gracePeriod`, then closes.
    public func stop(gracePeriod: Duration? = nil) async {
        await shell.stop(gracePeriod: gracePeriod ?? core.configuration.gracePeriod)
    }

    /// Counters of what the node has done.
    public func stats() async -> ServiceStats {
        await core.snapshot()
    }

    /// This process's instance id as registries know it.
    public var instanceID: String { core.instanceID }

    /// The endpoint bound, once started.
    public var endpoint: String? {
        get async { await core.boundEndpoint }
    }
}
