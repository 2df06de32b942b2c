public import Logging
public import ServiceLifecycle
import Synchronization

/// Calls services by name, many calls at once over one socket per peer.
///
/// Each call carries a request id; replies are matched by it, so any number of calls may be
/// in flight together. Every call ends in a reply or a ``MeshError``: at its deadline at the
/// latest, sooner when no instance is live. Cancelling the calling task cancels the call
/// (and tells the service). Where the client sends is the ``Discovery``'s business; the
/// calling code is the same for every topology.
///
/// ```swift
/// let client = try MeshClient(configuration: .init(discovery: .endpoints(["tcp://127.0.0.1:5601"])), logger: logger)
/// let reply = try await client.call("echo", Array("hello".utf8))
/// let greeting: HelloReply = try await client.call("greeter.hello", HelloRequest(name: "Ada"))
/// ```
public final class MeshClient: Sendable {
    /// How a client finds and talks to the mesh.
    public struct Configuration: Sendable {
        /// Where calls go.
        public var discovery: Discovery
        /// Options for calls that pass none.
        public var defaultOptions: CallOptions = CallOptions()
        /// ZMTP heartbeat interval towards peers: a silent peer counts as gone after three.
        public var peerHeartbeatInterval: Duration = .milliseconds(500)
        /// libzmq's per-connection queue bound in messages.
        public var socketHighWaterMark: Int32 = 100_000
        /// How often known names are looked up again (the safety net under registry change events).
        public var refreshInterval: Duration = .seconds(1)
        /// How long a registry look-up may take, retries over several registries included.
        public var lookupTimeout: Duration = .seconds(2)
        /// CURVE encryption and authentication; nil for none.
        public var curve: CurveSettings?
        /// Most service names whose registry answers the client keeps at once (registry
        /// discovery). Past it, answers with no live instance are forgotten first, then the
        /// longest held; a forgotten name is looked up again when next called. Answers with no
        /// live instance are also dropped at each refresh, so calls to names nobody serves
        /// leave nothing behind.
        public var maxKnownServices: Int = 1_024
        /// Most instance connections the client opens from registry answers; instances past it
        /// are skipped (and logged once) until others go away.
        public var maxInstanceConnections: Int = 4_096
        /// Run around every call, first one outermost (see ``ClientInterceptor``): auth
        /// tokens, tracing (``ClientTracingInterceptor``), metrics (``ClientMetricsInterceptor``).
        /// Default none.
        public var interceptors: [any ClientInterceptor] = []
        /// What a request's metadata may hold (more is refused before sending), and what a
        /// reply's may (more fails the call with ``MeshError/Code/protocolError``).
        public var metadataLimits: MetadataLimits = .default
        /// Limits inbound messages must keep.
        var limits: Envelope.Limits = .default
        /// libzmq's reconnect back-off towards a lost peer: the first wait, doubling up to the
        /// longest. Internal: tests stretch it to show what does not wait for it.
        var reconnectBackOff: (first: Duration, longest: Duration) = (.milliseconds(100), .seconds(1))

        /// A configuration with `discovery` and the defaults above.
        public init(discovery: Discovery) {
            self.discovery = discovery
        }
    }

    let core: ClientCore<ZMQTransport>
    private let sequence = Atomic<UInt64>(0)
    let defaultOptions: CallOptions
    let interceptors: [any ClientInterceptor]

    /// The executor of the client's sockets: a task that prefers it
    /// (`withTaskExecutorPreference(client.taskExecutor)`) starts calls and takes replies
    /// without a thread hand-off.
    package var taskExecutor: any TaskExecutor { core.transport.loop }

    /// Creates a client. Nothing connects yet: connections open at the first call, or at
    /// once under ``run()`` or ``withMeshClient(configuration:logger:_:)``.
    ///
    /// - Throws: ``ConfigurationError`` naming an endpoint that is not valid.
    public init(configuration: Configuration, logger: Logger) throws {
        switch configuration.discovery {
        case .endpoints(let endpoints), .brokers(let endpoints):
            for endpoint in endpoints { try Endpoint.validate(endpoint) }
        case .registries(let registries):
            for registry in registries {
                try Endpoint.validate(registry.endpoint)
                if let publish = registry.publish { try Endpoint.validate(publish) }
            }
        case .directory:
            break
        }
        defaultOptions = configuration.defaultOptions
        interceptors = configuration.interceptors
        core = ClientCore(transport: try ZMQTransport(name: "client", logger: logger), clientID: UInt64.random(in: 1...UInt64.max),
                          configuration: configuration, logger: logger)
    }

    /// Opens the configured connections now rather than at the first call.
    func connect() {
        let core = self.core
        core.transport.execute { core.assumeIsolated { $0.startIfNeeded() } }
    }

    /// Calls `name` with a raw payload and returns the reply's payload.
    ///
    /// - Throws: ``MeshError``: ``MeshError/Code/timeout`` at the deadline,
    ///   ``MeshError/Code/unavailable`` when no live instance can take it,
    ///   ``MeshError/Code/application`` when the handler threw a ``ServiceError``, and so on.
    ///
    /// Runs on the caller's executor until it waits for the reply (it only queues the call
    /// there): no hop to the global executor and back, so a task that prefers the client's
    /// event loop as its task executor starts the call and takes its reply without leaving
    /// that thread.
    nonisolated(nonsending) public func call(_ name: String, _ payload: [UInt8], options: CallOptions? = nil) async throws(MeshError) -> [UInt8] {
        let options = options ?? defaultOptions
        if interceptors.isEmpty {
            return try await core.call(name, payload, metadata: options.metadata, options: options,
                                       sequence: sequence.add(1, ordering: .relaxed).newValue).payload
        }
        return try await call(name, request: MeshRequest(payload: payload), options: options).payload
    }

    /// Calls `name` with a whole request (payload and metadata) and returns the whole reply,
    /// with its trailing metadata and the endpoint that answered. ``CallOptions/metadata`` is
    /// merged over the request's.
    ///
    /// - Throws: ``MeshError`` as ``call(_:_:options:)-(String,_,_)`` does; its ``MeshError/metadata`` holds
    ///   an error's trailing metadata.
    public func call(_ name: String, request: MeshRequest, options: CallOptions? = nil) async throws(MeshError) -> MeshReply {
        try await core.call(name, request: request, options: options ?? defaultOptions) {
            self.sequence.add(1, ordering: .relaxed).newValue
        }
    }

    /// Calls `name` with a typed request and decodes the typed reply, both through `codec`.
    public func call<Request: Encodable, Reply: Decodable>(
        _ name: String, _ request: Request, returning: Reply.Type = Reply.self,
        codec: some MeshCodec = JSONMeshCodec(), options: CallOptions? = nil
    ) async throws(MeshError) -> Reply {
        let payload: [UInt8]
        do {
            payload = try codec.encode(request)
        } catch {
            throw MeshError(.badRequest, service: name, message: "cannot encode \(Request.self): \(error)")
        }
        let reply = try await call(name, payload, options: options)
        do {
            return try codec.decode(Reply.self, from: reply)
        } catch {
            throw MeshError(.badRequest, service: name, message: "cannot decode the reply as \(Reply.self): \(error)", mayHaveRun: true)
        }
    }

    /// A sequence number for a new call or stream: unique per client.
    func nextSequence() -> UInt64 { sequence.add(1, ordering: .relaxed).newValue }

    /// Counters of what the client has done.
    public func stats() async -> ClientStats {
        await core.snapshot()
    }

    /// Ends every call in flight with ``MeshError/Code/closed`` and closes the sockets.
    public func shutdown() async {
        await core.close()
        await core.transport.shutdown()
    }
}

/// A client under swift-service-lifecycle: it connects when the service group starts it and
/// shuts down (every call in flight ends with ``MeshError/Code/closed``) at graceful shutdown.
///
/// ```swift
/// let client = try MeshClient(topology: topology, logger: logger)
/// let group = ServiceGroup(services: [client, myService], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
extension MeshClient: Service {
    /// Connects, then waits for graceful shutdown (or cancellation) and shuts down.
    public func run() async throws {
        connect()
        try? await gracefulShutdown()
        await shutdown()
    }
}

/// Runs `body` with a connected client, and shuts it down when `body` returns or throws.
///
/// ```swift
/// let reply = try await withMeshClient(configuration: .init(discovery: .endpoints(["tcp://127.0.0.1:5601"])),
///                                      logger: logger) { client in
///     try await client.call("echo", Array("hello".utf8))
/// }
/// ```
public func withMeshClient<Result: Sendable>(
    configuration: MeshClient.Configuration, logger: Logger,
    _ body: (MeshClient) async throws -> Result
) async throws -> Result {
    let client = try MeshClient(configuration: configuration, logger: logger)
    client.connect()
    do {
        let result = try await body(client)
        await client.shutdown()
        return result
    } catch {
        await client.shutdown()
        throw error
    }
}
