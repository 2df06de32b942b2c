import Metrics

/// Calls by name and outcome, through swift-metrics (`rpc.server.requests` or
/// `rpc.client.requests`, dimensions `service` and `outcome`).
///
/// Bounded whatever callers send: a called name is counted under the label `label(for:)`
/// gives it (a service node: the handler that answered it, or ``unknownName`` for a name it
/// does not host), and at most `maxNames` labels get counters of their own; calls under any
/// further label are counted as ``otherName``. So a caller who calls a million made-up names
/// makes no more than `maxNames + 2` counter sets (issue 10).
///
/// The hot path, a success for the same name as the call before, touches no table at all.
struct OutcomeCounters {
    /// The label of calls to names the node does not know.
    static let unknownName = "_unknown"
    /// The label of calls under labels past the `maxNames`th.
    static let otherName = "_other"

    private final class NameCounters {
        let name: String
        let ok: Counter
        var others: [String: Counter] = [:]
        init(name: String, ok: Counter) {
            self.name = name
            self.ok = ok
        }
    }

    private var byLabel: [String: NameCounters] = [:]
    private var last: (name: String, counters: NameCounters)?
    private let labelOf: (String) -> String?
    let label: String
    let maxNames: Int

    /// - Parameters:
    ///   - label: the metric's label.
    ///   - maxNames: most labels with counters of their own.
    ///   - labelFor: the label a called name is counted under; nil for a name the node does
    ///     not know (counted as ``unknownName``).
    init(label: String, maxNames: Int = 256, labelFor: @escaping (String) -> String? = { $0 }) {
        self.label = label
        self.maxNames = maxNames
        self.labelOf = labelFor
    }

    /// How many labels have counters (for tests: it never passes `maxNames + 2`).
    var labelCount: Int { byLabel.count }

    private mutating func counters(for name: String) -> NameCounters {
        if let last, last.name == name { return last.counters }
        var key = labelOf(name) ?? Self.unknownName
        if byLabel[key] == nil, byLabel.count >= maxNames, key != Self.unknownName { key = Self.otherName }
        let counters = byLabel[key] ?? {
            let made = NameCounters(name: key, ok: Counter(label: label, dimensions: [("service", key), ("outcome", "ok")]))
            byLabel[key] = made
            return made
        }()
        last = (name, counters)
        return counters
    }

    mutating func recordSuccess(service: String) {
        counters(for: service).ok.increment()
    }

    /// Counts one call ended with `outcome` (from a small fixed set: `ok`, status names).
    mutating func record(service: String, outcome: String) {
        if outcome == "ok" {
            recordSuccess(service: service)
            return
        }
        let counters = counters(for: service)
        if let counter = counters.others[outcome] {
            counter.increment()
        } else {
            let counter = Counter(label: label, dimensions: [("service", counters.name), ("outcome", outcome)])
            counters.others[outcome] = counter
            counter.increment()
        }
    }
}
