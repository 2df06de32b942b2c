import Yams

/// The `brokers` section: each `{ name, bind, workers, max_queue, mdp_expiry_ms, metrics }`, and the
/// rule that brokered topologies need at least one broker and brokerless ones none.
extension TopologyParser {
    static let brokerKeys = ["name", "bind", "workers", "max_queue", "mdp_expiry_ms", "metrics"]
    static let majordomoExpiryRange = 100...3_600_000

    /// Every broker under `brokersNode` (none when absent), recording each name in `names` and
    /// each endpoint in `endpoints`.
    func parseBrokers(
        _ brokersNode: Node?,
        names: inout [DeclaredName],
        endpoints: inout [TopologyEndpointField]
    ) throws(TopologyError) -> [Topology.Broker] {
        let brokerEntries = try brokersNode.map { node throws(TopologyError) in try mappings(node, key: "brokers") } ?? []
        var brokers: [Topology.Broker] = []
        for entry in brokerEntries {
            try checkKeys(of: entry, allowed: Self.brokerKeys)
            let index = brokers.count
            let name = try nodeName(in: entry, names: &names)
            let bind = try endpoint("bind", in: entry, required: true)
            let workers = try endpoint("workers", in: entry, required: false)
            var maxQueue: Int?
            if let node = entry.value("max_queue"), !isNull(node) {
                maxQueue = try integer(node, key: entry.path("max_queue"), in: Self.maxQueueRange)
            }
            var majordomoExpiry: Duration?
            if let node = entry.value("mdp_expiry_ms"), !isNull(node) {
                majordomoExpiry = .milliseconds(try integer(node, key: entry.path("mdp_expiry_ms"), in: Self.majordomoExpiryRange))
            }
            let metrics = try metricsAddress(in: entry)
            brokers.append(Topology.Broker(name: name, bind: bind?.value ?? "", workers: workers?.value, maxQueue: maxQueue,
                                           majordomoExpiry: majordomoExpiry, metrics: metrics?.value))
            if let bind { endpoints.append(.init(slot: .brokerBind(index), node: name, source: bind.source)) }
            if let workers { endpoints.append(.init(slot: .brokerWorkers(index), node: name, source: workers.source)) }
            if let metrics { endpoints.append(.init(slot: .brokerMetrics(index), node: name, source: metrics.source)) }
        }
        return brokers
    }

    /// Throws unless `brokers` suits `kind`: at least one when brokered, none when brokerless.
    /// A missing `brokers` key is reported at `root`.
    func checkBrokers(
        _ brokers: [Topology.Broker], in brokersNode: Node?, for kind: Topology.Kind, root: Node
    ) throws(TopologyError) {
        switch kind {
        case .brokered:
            guard let brokersNode else {
                throw TopologySource(key: "", node: root).error(
                    in: path, "missing required key \"brokers\" (topology: brokered needs at least one broker)")
            }
            if brokers.isEmpty {
                throw TopologySource(key: "brokers", node: brokersNode).error(
                    in: path, "topology: brokered needs at least one broker, such as { name: broker-1, bind: \"tcp://127.0.0.1:5555\" }")
            }
        case .brokerless:
            if let brokersNode, !brokers.isEmpty {
                throw TopologySource(key: "brokers", node: brokersNode).error(
                    in: path, "brokers are only used with topology: brokered")
            }
        }
    }
}
