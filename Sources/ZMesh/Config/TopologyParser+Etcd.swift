import Yams

/// The `registry` section: an instance directory in place of the built-in registries,
/// `registry: { etcd: { endpoints: ["http://127.0.0.1:2379"], prefix: "/zmesh/" } }`.
extension TopologyParser {
    static let directoryKeys = ["etcd"]
    static let etcdKeys = ["endpoints", "prefix"]

    /// The etcd settings, or nil when the file has no `registry` section.
    func parseEtcd(_ node: Node?) throws(TopologyError) -> Topology.Etcd? {
        guard let section = try section(node, key: "registry", example: "{ etcd: { endpoints: [\"http://127.0.0.1:2379\"] } }",
                                        allowed: Self.directoryKeys) else { return nil }
        let etcdNode = try required("etcd", in: section)
        guard let etcd = try self.section(etcdNode, key: "registry.etcd",
                                          example: "{ endpoints: [\"http://127.0.0.1:2379\"], prefix: \"/zmesh/\" }",
                                          allowed: Self.etcdKeys) else {
            throw TopologySource(key: "registry.etcd", node: etcdNode).error(
                in: path, "expected a mapping such as { endpoints: [\"http://127.0.0.1:2379\"] }, got nothing")
        }
        let endpointsNode = try required("endpoints", in: etcd)
        guard case .sequence(let list) = endpointsNode, !list.isEmpty else {
            throw TopologySource(key: "registry.etcd.endpoints", node: endpointsNode).error(
                in: path, "expected a non-empty list of etcd client URLs, such as [\"http://127.0.0.1:2379\"], got \(describe(endpointsNode))")
        }
        var endpoints: [String] = []
        for (offset, item) in list.enumerated() {
            let key = "registry.etcd.endpoints[\(offset)]"
            let text = try string(item, key: key, expected: "an etcd client URL such as \"http://127.0.0.1:2379\"")
            if let problem = Topology.Etcd.problem(withEndpoint: text) {
                throw TopologySource(key: key, node: item).error(in: path, problem)
            }
            endpoints.append(text)
        }
        var prefix = "/zmesh/"
        if let prefixNode = etcd.value("prefix"), !isNull(prefixNode) {
            prefix = try string(prefixNode, key: "registry.etcd.prefix", expected: "a key prefix such as \"/zmesh/\"")
            guard prefix.hasPrefix("/"), prefix.utf8.count <= 255, !prefix.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
                throw TopologySource(key: "registry.etcd.prefix", node: prefixNode).error(
                    in: path, "expected a key prefix starting with / (at most 255 bytes, no control characters), got \"\(prefix)\"")
            }
        }
        return Topology.Etcd(endpoints: endpoints, prefix: prefix)
    }
}

extension Topology {
    /// An etcd cluster holding the mesh's instances in place of the built-in registries
    /// (ZMeshEtcd's `EtcdDirectory` uses it).
    public struct Etcd: Sendable, Equatable {
        /// Client URLs, such as `http://127.0.0.1:2379`.
        public var endpoints: [String]
        /// Where the mesh's keys live, such as `/zmesh/`.
        public var prefix: String

        /// etcd at `endpoints`, keys under `prefix`.
        public init(endpoints: [String], prefix: String = "/zmesh/") {
            self.endpoints = endpoints
            self.prefix = prefix
        }

        /// What is wrong with an etcd client URL, or nil: `http://HOST:PORT`, no path.
        public static func problem(withEndpoint text: String) -> String? {
            guard text.hasPrefix("http://") else {
                return "\"\(text)\" is not an etcd client URL: expected http://HOST:PORT (https is not supported)"
            }
            let rest = text.dropFirst("http://".count)
            guard let colon = rest.lastIndex(of: ":"), !rest[..<colon].isEmpty, !rest.contains("/"),
                  let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port) else {
                return "\"\(text)\" is not an etcd client URL: expected http://HOST:PORT with a port from 1 to 65535 and no path"
            }
            return nil
        }
    }
}
