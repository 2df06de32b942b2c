public import Logging
public import ServiceLifecycle
public import Tracing

/// Builds the node a topology file names, ready to run in a `ServiceGroup`.
///
/// `zmesh node NAME --config FILE` uses this; so can your own executables, to host your
/// own handlers as a node of a topology file:
///
/// ```swift
/// let topology = try Topology.load(path: "topologies/brokerless.yaml")
/// let node = try MeshNode.make(named: "greeter-1", in: topology, handlers: greeterHandlers, logger: logger)
/// try await ServiceGroup(configuration: .init(services: [node], gracefulShutdownSignals: [.sigterm, .sigint],
///                                               logger: logger)).run()
/// ```
public enum MeshNode {
    /// The node called `name` in `topology`.
    ///
    /// - Parameters:
    ///   - name: the node's name in the file, such as `echo-1`.
    ///   - topology: the loaded topology file (``Topology/load(path:environment:)``).
    ///   - handlers: for a service node, the handlers it hosts (the library has none of its
    ///     own: `BuiltinServices.handlers(forNode:in:)` in ZMeshBuiltins gives the demo ones);
    ///     a service the file lists for the node but `handlers` lacks is logged as a warning.
    ///     Registries and brokers ignore it: pass `ServiceHandlers()`.
    ///   - onListening: told the node's bound endpoints (its own first) once it listens;
    ///     `ReadyFile.announce` (ZMeshBuiltins) tells `scripts/mesh-up.sh`.
    ///   - interceptors: for a service node, run around each of its handlers (see
    ///     ``ServiceNode/Configuration/interceptors``). Others ignore them.
    ///   - tracer: for a broker, traces each request's hop (``BrokerNode/Configuration/tracer``).
    ///     Others ignore it: give service nodes a ``ServerTracingInterceptor``.
    ///   - directory: where instances are kept when the file says `registry: { etcd: ... }`
    ///     (ZMeshEtcd's `topology.etcdDirectory()`); required then, ignored otherwise.
    ///   - logger: the node's logger; its metadata goes on every line the node logs.
    /// - Throws: ``ConfigurationError`` if the file has no such node, or keeps its instances in
    ///   etcd and no directory is given; ``SecurityError`` if its keys are missing.
    public static func make(named name: String, in topology: Topology, handlers: ServiceHandlers,
                            logger: Logger, onListening: (@Sendable ([String]) -> Void)? = nil,
                            interceptors: [any ServerInterceptor] = [], tracer: (any Tracer)? = nil,
                            directory: (any InstanceDirectory)? = nil) throws -> any Service {
        guard let node = topology.node(named: name) else {
            throw ConfigurationError("\(topology.path) has no node named \(name) (it has \(topology.nodes.map(\.name).joined(separator: ", ")))")
        }
        let directory = try topology.requiredDirectory(directory)
        switch node {
        case .registry(let registry):
            var configuration = RegistryNode.Configuration(name: registry.name, bind: registry.bind, publish: registry.publish)
            configuration.heartbeat = topology.heartbeat
            configuration.curve = try topology.curveSettings(forNode: registry.name)
            configuration.heartbeatPolicy = topology.heartbeatPolicy
            if let maxInstances = registry.maxInstances { configuration.maxInstances = maxInstances }
            if let window = registry.readCoalescing { configuration.readCoalescing = window }
            configuration.onListening = onListening
            return try RegistryNode(configuration: configuration, logger: logger)
        case .broker(let broker):
            var configuration = BrokerNode.Configuration(name: broker.name, bind: broker.bind)
            configuration.registries = topology.registryAddresses
            configuration.heartbeat = topology.heartbeat
            configuration.workers = broker.workers
            configuration.curve = try topology.curveSettings(forNode: broker.name)
            if let maxQueue = broker.maxQueue { configuration.maxQueuePerService = maxQueue }
            if let expiry = broker.majordomoExpiry { configuration.majordomoRequestTimeout = expiry }
            configuration.tracer = tracer
            configuration.directory = directory
            configuration.onListening = onListening
            return try BrokerNode(configuration: configuration, logger: logger)
        case .service(let instance):
            var configuration = ServiceNode.Configuration(name: instance.name, bind: instance.bind)
            configuration.registries = topology.registries.map { Endpoint.connectable($0.bind) }
            configuration.heartbeat = topology.heartbeat
            configuration.advertise = instance.advertise
            configuration.curve = try topology.curveSettings(forNode: instance.name)
            if let maxConcurrency = instance.maxConcurrency { configuration.maxConcurrentHandlers = maxConcurrency }
            if let maxQueue = instance.maxQueue { configuration.maxQueuedRequests = maxQueue }
            configuration.metadataLimits = topology.metadataLimits
            configuration.interceptors = interceptors
            configuration.directory = directory
            configuration.onListening = onListening
            let missing = Set(instance.services).subtracting(handlers.services)
            if !missing.isEmpty {
                logger.warning("the topology lists services this node has no handlers for", metadata: [
                    "zmesh.missing": "\(missing.sorted().joined(separator: ","))",
                ])
            }
            return try ServiceNode(configuration: configuration, handlers: handlers, logger: logger)
        }
    }
}

extension MeshClient {
    /// A client for the mesh a topology file describes: through its brokers when it is
    /// brokered, through its registries when it is broker-less. The calling code is the same
    /// whatever the file says.
    ///
    /// With CURVE on, the client uses key pair `clientKey` from the file's key directory (by
    /// default the first of the file's `security.clients`).
    public convenience init(topology: Topology, logger: Logger, clientKey: String? = nil,
                            directory: (any InstanceDirectory)? = nil,
                            configure: (inout Configuration) -> Void = { _ in }) throws {
        let directory = try topology.requiredDirectory(directory)
        let discovery: Discovery = switch (topology.kind, directory) {
        case (.brokered, _): .brokers(topology.brokers.map { Endpoint.connectable($0.bind) })
        case (.brokerless, let directory?): .directory(directory)
        case (.brokerless, nil): .registries(topology.registryAddresses)
        }
        var configuration = Configuration(discovery: discovery)
        configuration.curve = try topology.curveSettings(forClient: clientKey)
        configuration.refreshInterval = max(topology.heartbeat.interval * 2, .milliseconds(200))
        configuration.metadataLimits = topology.metadataLimits
        configure(&configuration)
        try self.init(configuration: configuration, logger: logger)
    }
}

extension Topology {
    /// `directory` when the file keeps its instances in etcd, nil when it has registries.
    func requiredDirectory(_ directory: (any InstanceDirectory)?) throws -> (any InstanceDirectory)? {
        guard let etcd else { return nil }
        guard let directory else {
            throw ConfigurationError("\(path) keeps its instances in etcd (\(etcd.endpoints.joined(separator: ", "))): "
                                     + "pass a directory (ZMeshEtcd: topology.etcdDirectory())")
        }
        return directory
    }

    /// Where clients and brokers reach the file's registries.
    public var registryAddresses: [RegistryAddress] {
        registries.map { RegistryAddress(endpoint: Endpoint.connectable($0.bind), publish: $0.publish.map(Endpoint.connectable)) }
    }
}
