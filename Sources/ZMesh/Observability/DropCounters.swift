import Metrics

/// Counts messages dropped as malformed, by reason, in memory (for `stats()`) and through
/// swift-metrics as `zmesh.messages.dropped` with dimensions `role` and `reason`.
struct DropCounters {
    private(set) var byReason: [MalformedReason: UInt64] = [:]
    private var counters: [MalformedReason: Counter] = [:]
    let role: String

    init(role: String) { self.role = role }

    mutating func record(_ reason: MalformedReason) {
        byReason[reason, default: 0] += 1
        if let counter = counters[reason] {
            counter.increment()
        } else {
            let counter = Counter(label: "zmesh.messages.dropped", dimensions: [("role", role), ("reason", reason.rawValue)])
            counters[reason] = counter
            counter.increment()
        }
    }

    var total: UInt64 { byReason.values.reduce(0, +) }

    /// Reason name -> count.
    var snapshot: [String: UInt64] {
        Dictionary(uniqueKeysWithValues: byReason.map { ($0.key.rawValue, $0.value) })
    }
}
