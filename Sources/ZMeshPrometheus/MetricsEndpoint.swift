public import Logging
public import NIOCore
import NIOHTTP1
public import NIOPosix
public import Prometheus
public import ServiceLifecycle
public import ZMesh

/// Serves `GET /metrics` in Prometheus's text format (version 0.0.4) from a
/// `PrometheusCollectorRegistry`, over SwiftNIO's HTTP/1 server: a swift-service-lifecycle
/// `Service`, run in the same `ServiceGroup` as the node it reports on.
///
/// `run()` binds the address (a ``MetricsEndpointError`` naming it if it cannot), logs the
/// scrape URL, and serves until the group shuts down gracefully or the task is cancelled;
/// then it stops listening, lets a scrape in progress finish (for up to
/// ``shutdownGrace``) and closes every connection before it returns. Other paths than
/// `/metrics` get 404, other methods than GET and HEAD 405.
///
/// ```swift
/// let registry = MeshPrometheus.bootstrap()
/// let metrics = MetricsEndpoint(address: try MetricsAddress(parsing: "127.0.0.1:9601"),
///                               registry: registry, logger: logger)
/// // services: [metrics, node]: on SIGTERM the node drains first, scraped all along.
/// ```
///
/// Bounded whatever clients do: at most ``maxConnections`` connections at once (more are
/// closed as they come), each closed after ``idleTimeout`` without a request, and request
/// heads limited by SwiftNIO's decoder; request bodies are read and dropped.
public struct MetricsEndpoint: Service {
    /// Most connections served at once.
    public static let maxConnections = 32
    /// How long a connection may stay open without sending anything.
    public static let idleTimeout: TimeAmount = .seconds(60)
    /// How long a stop waits for scrapes in progress before it closes their connections.
    public static let shutdownGrace: Duration = .seconds(2)

    /// Where it listens.
    public let address: MetricsAddress
    /// What it serves.
    public let registry: PrometheusCollectorRegistry
    private let logger: Logger
    private let eventLoopGroup: any EventLoopGroup
    private let onListening: (@Sendable (MetricsAddress) -> Void)?

    /// An endpoint for `registry` at `address`; nothing happens until ``run()``.
    ///
    /// - Parameters:
    ///   - address: the host and port to bind; port 0 takes a free port, which `onListening`
    ///     tells.
    ///   - registry: the metrics to serve, such as ``MeshPrometheus/bootstrap()``'s.
    ///   - logger: logs the scrape URL once listening, and refused connections at debug level.
    ///   - eventLoopGroup: the SwiftNIO threads to serve on; SwiftNIO's shared ones by default.
    ///   - onListening: told the address actually bound, once, when it listens.
    public init(address: MetricsAddress, registry: PrometheusCollectorRegistry, logger: Logger,
                eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                onListening: (@Sendable (MetricsAddress) -> Void)? = nil) {
        self.address = address
        self.registry = registry
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        self.onListening = onListening
    }

    /// Binds, then serves scrapes until a graceful shutdown or cancellation, then closes every
    /// connection.
    ///
    /// - Throws: ``MetricsEndpointError`` if the address cannot be bound (in use, no such host).
    public func run() async throws {
        let connections = OpenConnections(limit: Self.maxConnections)
        let server = try await bind(connections: connections)
        var bound = address
        if let port = server.localAddress?.port { bound.port = port }
        logger.info("serving metrics for Prometheus", metadata: ["zmesh.metrics.url": "http://\(bound)/metrics"])
        onListening?(bound)
        await withTaskCancellationOrGracefulShutdownHandler {
            // The listener's close future never fails; it completes once the listener is closed.
            try? await server.closeFuture.get()
        } onCancelOrGracefulShutdown: {
            server.close(promise: nil)
        }
        await connections.closeAll(grace: Self.shutdownGrace)
        logger.debug("metrics endpoint stopped", metadata: ["zmesh.metrics.address": "\(bound)"])
    }

    /// The listening channel; each connection it accepts gets SwiftNIO's HTTP/1 codec and a
    /// ``MetricsHTTPHandler``, unless ``maxConnections`` are open.
    private func bind(connections: OpenConnections) async throws(MetricsEndpointError) -> any Channel {
        let registry = registry, logger = logger
        do {
            return try await ServerBootstrap(group: eventLoopGroup)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    guard connections.admit(channel) else {
                        logger.debug("metrics connection refused: \(Self.maxConnections) already open")
                        return channel.eventLoop.makeFailedFuture(ConnectionLimitReached())
                    }
                    return channel.eventLoop.makeCompletedFuture {
                        let pipeline = channel.pipeline.syncOperations
                        try pipeline.addHandler(IdleStateHandler(readTimeout: Self.idleTimeout))
                        try pipeline.configureHTTPServerPipeline(withErrorHandling: true)
                        try pipeline.addHandler(MetricsHTTPHandler(registry: registry))
                    }
                }
                .bind(host: address.host, port: address.port)
                .get()
        } catch {
            throw MetricsEndpointError(address: address, underlying: error)
        }
    }
}

/// Why a connection past ``MetricsEndpoint/maxConnections`` is closed as it comes (SwiftNIO's
/// bootstrap closes a connection whose initializer fails).
private struct ConnectionLimitReached: Error {}
