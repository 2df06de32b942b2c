public import CoreMetrics
public import Prometheus
import Synchronization

/// The mesh's metrics in Prometheus: swift-metrics bootstrapped once with swift-prometheus,
/// named the Prometheus way.
///
/// A program that scrapes calls ``bootstrap()`` before it makes any node or client (metrics
/// made before the bootstrap go nowhere), then serves the registry it returns with a
/// ``MetricsEndpoint``:
///
/// ```swift
/// let registry = MeshPrometheus.bootstrap()
/// let node = try MeshNode.make(named: "echo-1", in: topology, handlers: handlers, logger: logger)
/// let metrics = MetricsEndpoint(address: try MetricsAddress(parsing: "127.0.0.1:9601"),
///                               registry: registry, logger: logger)
/// try await ServiceGroup(configuration: .init(services: [metrics, node],
///                                             gracefulShutdownSignals: [.sigterm], logger: logger)).run()
/// ```
///
/// Names: dots become underscores, counters end in `_total`, timers become histograms in
/// seconds ending in `_seconds` with ``durationBuckets`` (`rpc.server.duration` is
/// `rpc_server_duration_seconds`). docs/OPERATIONS.md ("Metrics") lists every metric.
public enum MeshPrometheus {
    /// The histogram buckets of every swift-metrics `Timer`: 100 us to 10 s.
    public static let durationBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500),
        .milliseconds(1), .microseconds(2_500), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2_500), .seconds(5), .seconds(10),
    ]

    /// The registry ``bootstrap()`` made, once it has.
    private static let bootstrapped = Mutex<PrometheusCollectorRegistry?>(nil)

    /// Makes a registry and bootstraps swift-metrics with a factory that records into it;
    /// returns the registry, for a ``MetricsEndpoint`` to serve.
    ///
    /// Once per process: later calls return the first call's registry and bootstrap nothing.
    /// swift-metrics itself allows one bootstrap per process, so a program that calls this
    /// must not call `MetricsSystem.bootstrap` too.
    @discardableResult
    public static func bootstrap() -> PrometheusCollectorRegistry {
        bootstrapped.withLock { registry in
            if let registry { return registry }
            let made = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(makeMetricsFactory(registry: made))
            registry = made
            return made
        }
    }

    /// A swift-metrics factory recording into `registry` with the mesh's Prometheus naming and
    /// ``durationBuckets``, for a program that bootstraps swift-metrics itself (to multiplex
    /// it with another back end, say) or for tests.
    public static func makeMetricsFactory(registry: PrometheusCollectorRegistry) -> any MetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = durationBuckets
        return PrometheusNamingFactory(base: factory)
    }
}
