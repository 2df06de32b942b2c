import Metrics

/// Calls by service and outcome, through swift-metrics (`rpc.server.requests` or
/// `rpc.client.requests`, dimensions `service` and `outcome`), with the Counter objects
/// cached so the hot path does no lookup by label.
struct OutcomeCounters {
    private var counters: [String: [String: Counter]] = [:]
    let label: String

    init(label: String) { self.label = label }

    mutating func record(service: String, outcome: String) {
        if let counter = counters[service]?[outcome] {
            counter.increment()
            return
        }
        let counter = Counter(label: label, dimensions: [("service", service), ("outcome", outcome)])
        counters[service, default: [:]][outcome] = counter
        counter.increment()
    }
}
