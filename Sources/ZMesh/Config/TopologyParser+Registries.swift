import Yams

/// The `registries` section: required, at least one, each `{ name, bind, publish, metrics }`.
extension TopologyParser {
    static let registryKeys = ["name", "bind", "publish", "metrics"]

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
            registries.append(Topology.Registry(name: name, bind: bind?.value ?? "", publish: publish?.value,
                                                metrics: metrics?.value))
            if let bind { endpoints.append(.init(slot: .registryBind(index), node: name, source: bind.source)) }
            if let publish { endpoints.append(.init(slot: .registryPublish(index), node: name, source: publish.source)) }
            if let metrics { endpoints.append(.init(slot: .registryMetrics(index), node: name, source: metrics.source)) }
        }
        return registries
    }
}
