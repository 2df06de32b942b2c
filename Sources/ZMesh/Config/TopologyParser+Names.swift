/// Node names, for the registries, brokers and services sections: each follows the node-name
/// rule, and no two nodes share one.
extension TopologyParser {
    /// A node name as read: the name, the entry that declares it (such as `services[1]`), and where.
    typealias DeclaredName = (name: String, entry: String, source: TopologySource)

    /// The entry's `name`, checked against the node-name rule and recorded for the uniqueness check.
    func nodeName(
        in entry: MappingNode,
        names: inout [DeclaredName]
    ) throws(TopologyError) -> String {
        let node = try required("name", in: entry)
        let key = entry.path("name")
        let name = try string(node, key: key)
        if let problem = Self.nodeNameProblem(name) {
            throw TopologySource(key: key, node: node).error(in: path, problem)
        }
        names.append((name, entry.key, TopologySource(key: key, node: node)))
        return name
    }

    /// What is wrong with a node name, or nil: it must match `^[a-z0-9][a-z0-9_-]*$`.
    static func nodeNameProblem(_ name: String) -> String? {
        func allowed(_ byte: UInt8, first: Bool) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
            case UInt8(ascii: "-"), UInt8(ascii: "_"): !first
            default: false
            }
        }
        let bytes = Array(name.utf8)
        let valid = !bytes.isEmpty && bytes.enumerated().allSatisfy { allowed($0.element, first: $0.offset == 0) }
        return valid ? nil : "node name \"\(name)\" is not allowed: use lowercase letters, digits, - and _, "
            + "starting with a letter or digit (such as echo-1)"
    }

    func checkNamesAreUnique(_ names: [DeclaredName]) throws(TopologyError) {
        var seen: [String: (entry: String, source: TopologySource)] = [:]
        for item in names.sorted(by: { TopologySource.precedes($0.source, $1.source) }) {
            if let first = seen[item.name] {
                let at = first.source.line.map { " (line \($0))" } ?? ""
                throw item.source.error(
                    in: path, "node name \"\(item.name)\" is already used by \(first.entry)\(at); node names must be unique")
            }
            seen[item.name] = (item.entry, item.source)
        }
    }
}
