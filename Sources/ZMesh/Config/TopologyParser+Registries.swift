import Yams

/// The `registries` section: required, at least one, each
/// `{ name, bind, publish, metrics, max_instances, read_coalescing_ms }`.
extension TopologyParser {
    static let registryKeys = ["name", "bind", "publish", "metrics", "max_instances", "read_coalescing_ms"]
    /// What `max_instances` may be.
    static let maxInstancesRange = 1...10_000_000
    /// What `read_coalescing_ms` may be: up to a tenth of a second, far below any heartbeat interval.
    static let readCoalescingRange = 0...100

    /// Every registry in `top`, recording each name in `names` and each endpoint in `endpoints`.
    func parseRegistries(
        in top: MappingNode,
        names: inout [DeclaredName],
        endpoints: inout [TopologyEndpointField]
    ) throws(TopologyError) -> [Topology.Registry] {
        let registriesNode = try required("registries", in: top)
        let registryEntries = try mappings(registriesNode, key: "registries")
        guard !registryEntries.isEmpty else {
            throw TopologySource(key: "registries", node: registriesNode).error(
                in: path, "expected at least one registry, such as { name: registry-1, bind: \"tcp://127.0.0.1:5550\" }")
        }
        var registries: [Topology.Registry] = []
        for entry in registryEntries {
            try checkKeys(of: entry, allowed: Self.registryKeys)
            let index = registries.count
            let name = try nodeName(in: entry, names: &names)
            let bind = try endpoint("bind", in: entry, required: true)
            let publish = try endpoint("publish", in: entry, required: false)
            let metrics = try metricsAddress(in: entry)
            var maxInstances: Int?
            if let node = entry.value("max_instances"), !isNull(node) {
                maxInstances = try integer(node, key: entry.path("max_instances"), in: Self.maxInstancesRange)
            }
            var readCoalescing: Duration?
            if let node = entry.value("read_coalescing_ms"), !isNull(node) {
                readCoalescing = .milliseconds(try integer(node, key: entry.path("read_coalescing_ms"),
                                                           in: Self.readCoalescingRange))
            }
            registries.append(Topology.Registry(name: name, bind: bind?.value ?? "", publish: publish?.value,
                                                metrics: metrics?.value, maxInstances: maxInstances,
                                                readCoalescing: readCoalescing))
            if let bind { endpoints.append(.init(slot: .registryBind(index), node: name, source: bind.source)) }
            if let publish { endpoints.append(.init(slot: .registryPublish(index), node: name, source: publish.source)) }
            if let metrics { endpoints.append(.init(slot: .registryMetrics(index), node: name, source: metrics.source)) }
        }
        return registries
    }
}
