import Yams

/// The `services` section: each service node, the services it hosts, its endpoints, its
/// limits, the program that runs it, and where it serves metrics.
extension TopologyParser {
    static let serviceKeys = ["name", "service", "services", "bind", "advertise", "max_concurrency", "max_queue", "executable", "args", "metrics"]
    static let maxConcurrencyRange = 1...Int.max
    static let maxServiceNameBytes = 255

    /// Every service node under `servicesNode` (none when absent), recording each name in
    /// `names` and each endpoint in `endpoints`.
    func parseServices(
        _ servicesNode: Node?,
        names: inout [DeclaredName],
        endpoints: inout [TopologyEndpointField]
    ) throws(TopologyError) -> [Topology.ServiceInstance] {
        let serviceEntries = try servicesNode.map { node throws(TopologyError) in try mappings(node, key: "services") } ?? []
        var services: [Topology.ServiceInstance] = []
        for entry in serviceEntries {
            let index = services.count
            let (service, bind, advertise, metrics) = try parseService(entry, names: &names)
            services.append(service)
            if let bind { endpoints.append(.init(slot: .serviceBind(index), node: service.name, source: bind)) }
            if let advertise { endpoints.append(.init(slot: .serviceAdvertise(index), node: service.name, source: advertise)) }
            if let metrics { endpoints.append(.init(slot: .serviceMetrics(index), node: service.name, source: metrics)) }
        }
        return services
    }

    private func parseService(
        _ entry: MappingNode,
        names: inout [DeclaredName]
    ) throws(TopologyError) -> (Topology.ServiceInstance, bind: TopologySource?, advertise: TopologySource?, metrics: TopologySource?) {
        try checkKeys(of: entry, allowed: Self.serviceKeys)
        let name = try nodeName(in: entry, names: &names)

        let single = entry.value("service").flatMap { isNull($0) ? nil : $0 }
        let list = entry.value("services").flatMap { isNull($0) ? nil : $0 }
        var hosted: [String] = []
        switch (single, list) {
        case (.some, .some):
            throw TopologySource(key: entry.key, node: entry.node).error(
                in: path, "use either service (one name) or services (a list of names), not both")
        case (nil, nil):
            throw TopologySource(key: entry.key, node: entry.node).error(
                in: path, "missing required key \"service\" (or \"services\" for a list of names)")
        case (let node?, nil):
            let key = entry.path("service")
            hosted = [try serviceName(node, key: key)]
        case (nil, let node?):
            let key = entry.path("services")
            guard case .sequence(let sequence) = node, !sequence.isEmpty else {
                throw TopologySource(key: key, node: node).error(
                    in: path, "expected a non-empty list of strings, such as [echo, kv], got \(describe(node))")
            }
            for (offset, item) in sequence.enumerated() {
                let itemKey = "\(key)[\(offset)]"
                let service = try serviceName(item, key: itemKey)
                if hosted.contains(service) {
                    throw TopologySource(key: itemKey, node: item).error(
                        in: path, "service \"\(service)\" is listed twice")
                }
                hosted.append(service)
            }
        }

        let bind = try endpoint("bind", in: entry, required: true)
        let advertise = try endpoint("advertise", in: entry, required: false)
        if let advertise, advertise.value.hasPrefix("tcp://*:") || advertise.value.hasPrefix("tcp://0.0.0.0:") {
            throw advertise.source.error(
                in: path, "an advertised endpoint is where others connect: name a host, not \"*\" or 0.0.0.0")
        }

        var maxConcurrency: Int?
        if let node = entry.value("max_concurrency"), !isNull(node) {
            maxConcurrency = try integer(node, key: entry.path("max_concurrency"), in: Self.maxConcurrencyRange)
        }

        var maxQueue: Int?
        if let node = entry.value("max_queue"), !isNull(node) {
            maxQueue = try integer(node, key: entry.path("max_queue"), in: Self.maxQueueRange)
        }

        var executable: String?
        if let node = entry.value("executable"), !isNull(node) {
            let value = try string(node, key: entry.path("executable"), expected: "a non-empty string")
            if value.isEmpty {
                throw TopologySource(key: entry.path("executable"), node: node).error(
                    in: path, "expected a non-empty string, got \"\"")
            }
            executable = value
        }

        var arguments: [String] = []
        if let node = entry.value("args"), !isNull(node) {
            let key = entry.path("args")
            guard case .sequence(let sequence) = node else {
                throw TopologySource(key: key, node: node).error(
                    in: path, "expected a list of strings, such as [\"--verbose\"], got \(describe(node))")
            }
            for (offset, item) in sequence.enumerated() {
                arguments.append(try string(item, key: "\(key)[\(offset)]"))
            }
        }

        let metrics = try metricsAddress(in: entry)

        let service = Topology.ServiceInstance(
            name: name, services: hosted, bind: bind?.value ?? "", advertise: advertise?.value,
            maxConcurrency: maxConcurrency, maxQueue: maxQueue, executable: executable, arguments: arguments,
            metrics: metrics?.value)
        return (service, bind?.source, advertise?.source, metrics?.source)
    }

    /// A service name as clients call it (`echo` in `echo.ping`).
    private func serviceName(_ node: Node, key: String) throws(TopologyError) -> String {
        let name = try string(node, key: key)
        let problem: String? =
            if name.isEmpty { "a service name cannot be empty" }
            else if name.utf8.count > Self.maxServiceNameBytes {
                "service name is \(name.utf8.count) bytes long; the most is \(Self.maxServiceNameBytes)"
            } else if name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                "service name \"\(name.debugDescription.dropFirst().dropLast())\" contains a control character"
            } else if name.contains(".") {
                "service name \"\(name)\" must not contain \".\" (callers write service.method, so use a name like echo or kv)"
            } else { nil }
        if let problem {
            throw TopologySource(key: key, node: node).error(in: path, problem)
        }
        return name
    }
}
