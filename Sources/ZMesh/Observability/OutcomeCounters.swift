import Metrics

/// Calls by service and outcome, through swift-metrics (`rpc.server.requests` or
/// `rpc.client.requests`, dimensions `service` and `outcome`). Counter objects are made once
/// per service and outcome; the hot path, a success for the same service as the call before,
/// touches no table at all.
struct OutcomeCounters {
    private final class ServiceCounters {
        let ok: Counter
        var others: [String: Counter] = [:]
        init(ok: Counter) { self.ok = ok }
    }

    private var services: [String: ServiceCounters] = [:]
    private var last: (service: String, counters: ServiceCounters)?
    let label: String

    init(label: String) { self.label = label }

    private mutating func counters(for service: String) -> ServiceCounters {
        if let last, last.service == service { return last.counters }
        let counters = services[service] ?? {
            let made = ServiceCounters(ok: Counter(label: label, dimensions: [("service", service), ("outcome", "ok")]))
            services[service] = made
            return made
        }()
        last = (service, counters)
        return counters
    }

    mutating func recordSuccess(service: String) {
        counters(for: service).ok.increment()
    }

    mutating func record(service: String, outcome: String) {
        if outcome == "ok" {
            recordSuccess(service: service)
            return
        }
        let counters = counters(for: service)
        if let counter = counters.others[outcome] {
            counter.increment()
        } else {
            let counter = Counter(label: label, dimensions: [("service", service), ("outcome", outcome)])
            counters.others[outcome] = counter
            counter.increment()
        }
    }
}
