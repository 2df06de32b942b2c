import Metrics

/// A node whose state is reported as swift-metrics gauges once a second: queue depths,
/// requests in flight, instances by health. Cheap (a timer a second, a few stores), so it
/// runs whether or not a metrics backend is bootstrapped.
protocol ReportsGauges: NodeCore {
    /// Sets the node's gauges from its state now.
    func reportGauges()
}

extension ReportsGauges {
    /// How often gauges are set.
    static var gaugeInterval: Duration { .seconds(1) }

    /// Sets the gauges now and every ``gaugeInterval`` from now on, while the node lives.
    func scheduleGaugeReports() {
        reportGauges()
        _ = transport.schedule(after: Self.gaugeInterval) { [weak self] in
            self?.assumeIsolated { $0.scheduleGaugeReports() }
        }
    }
}

/// The gauges and counters of one role, made once (labels fixed: never chosen by peers).
struct NodeGauges {
    /// Service nodes: `zmesh.service.running` and `zmesh.service.queued` (requests).
    struct Service {
        let running = Gauge(label: "zmesh.service.running")
        let queued = Gauge(label: "zmesh.service.queued")

        func report(running: Int, queued: Int) {
            self.running.record(running)
            self.queued.record(queued)
        }
    }

    /// Brokers: requests in flight and queued, ready instances, and re-dispatches.
    struct Broker {
        let inFlight = Gauge(label: "zmesh.broker.in_flight")
        let queued = Gauge(label: "zmesh.broker.queued")
        let readyInstances = Gauge(label: "zmesh.broker.instances", dimensions: [("state", "ready")])
        let instances = Gauge(label: "zmesh.broker.instances", dimensions: [("state", "known")])
        let redispatched = Counter(label: "zmesh.broker.redispatched")
        private var lastRedispatched: UInt64 = 0

        mutating func report(_ stats: BrokerStats) {
            inFlight.record(stats.inFlight)
            queued.record(stats.queued)
            readyInstances.record(stats.readyInstances)
            instances.record(stats.instances)
            if stats.redispatched > lastRedispatched {
                redispatched.increment(by: Int64(clamping: stats.redispatched - lastRedispatched))
                lastRedispatched = stats.redispatched
            }
        }
    }

    /// Registries: `zmesh.registry.instances` by `health` (live, and the recently gone as
    /// evicted, left or replaced).
    struct Registry {
        private let byHealth: [InstanceInfo.Health: Gauge] = Dictionary(uniqueKeysWithValues: InstanceInfo.Health.allCases.map {
            ($0, Gauge(label: "zmesh.registry.instances", dimensions: [("health", $0.rawValue)]))
        })

        func report(_ counts: [InstanceInfo.Health: Int]) {
            for (health, gauge) in byHealth { gauge.record(counts[health] ?? 0) }
        }
    }
}
