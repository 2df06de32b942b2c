import Yams

/// The helpers every section shares: required keys, unknown keys, lists of mappings, and
/// scalar values (strings, integers in a range, endpoints), each failing with its key and line.
extension TopologyParser {
    /// An endpoint value and where it is; nil if absent and not required.
    func endpoint(
        _ name: String, in entry: MappingNode, required isRequired: Bool
    ) throws(TopologyError) -> (value: String, source: TopologySource)? {
        let key = entry.path(name)
        let node: Node
        if isRequired {
            node = try required(name, in: entry)
        } else {
            guard let value = entry.value(name), !isNull(value) else { return nil }
            node = value
        }
        let value = try string(node, key: key, expected: "an endpoint such as \"tcp://127.0.0.1:5601\"")
        let source = TopologySource(key: key, node: node)
        if let problem = Endpoint.problem(with: value, allowWildcardPort: false) {
            throw source.error(in: path, problem)
        }
        return (value, source)
    }

    /// The entry's optional `metrics` value (`HOST:PORT`, see ``MetricsAddress``) and where it
    /// is; nil if absent.
    func metricsAddress(in entry: MappingNode) throws(TopologyError) -> (value: String, source: TopologySource)? {
        guard let node = entry.value("metrics"), !isNull(node) else { return nil }
        let key = entry.path("metrics")
        let value = try string(node, key: key, expected: "HOST:PORT, such as \"127.0.0.1:9601\"")
        let source = TopologySource(key: key, node: node)
        if let problem = MetricsAddress.problem(with: value) {
            throw source.error(in: path, problem)
        }
        return (value, source)
    }

    /// The value under `name`, or a "missing required key" error located at the mapping.
    func required(_ name: String, in entry: MappingNode) throws(TopologyError) -> Node {
        guard let value = entry.value(name), !isNull(value) else {
            throw TopologySource(key: entry.key, node: entry.node).error(in: path, "missing required key \"\(name)\"")
        }
        return value
    }

    /// Throws at the first key of `entry` that is not in `allowed`.
    func checkKeys(of entry: MappingNode, allowed: [String]) throws(TopologyError) {
        for (keyNode, _) in entry.mapping {
            guard case .scalar(let scalar) = keyNode else {
                throw TopologySource(key: entry.key, node: keyNode).error(
                    in: path, "expected a key name, got \(describe(keyNode))")
            }
            if !allowed.contains(scalar.string) {
                throw TopologySource(key: entry.path(scalar.string), node: keyNode).error(
                    in: path, "unknown key \"\(scalar.string)\" (expected one of: \(allowed.joined(separator: ", ")))")
            }
        }
    }

    /// The entries of a list of mappings, each with its key path, such as `services[1]`.
    func mappings(_ node: Node, key: String) throws(TopologyError) -> [MappingNode] {
        if isNull(node) { return [] }
        guard case .sequence(let sequence) = node else {
            throw TopologySource(key: key, node: node).error(in: path, "expected a list of mappings, got \(describe(node))")
        }
        var entries: [MappingNode] = []
        for (offset, item) in sequence.enumerated() {
            let itemKey = "\(key)[\(offset)]"
            guard case .mapping(let mapping) = item else {
                throw TopologySource(key: itemKey, node: item).error(
                    in: path, "expected a list of mappings, such as - { name: ..., bind: ... }; this entry is \(describe(item))")
            }
            entries.append(MappingNode(mapping: mapping, node: item, key: itemKey))
        }
        return entries
    }

    /// A section of the file (`heartbeat`, `limits`, `security`, ...): nil when absent or null,
    /// else its mapping with only `allowed` keys; anything but a mapping is an error showing
    /// `example`.
    func section(_ node: Node?, key: String, example: String, allowed: [String]) throws(TopologyError) -> MappingNode? {
        guard let node, !isNull(node) else { return nil }
        guard case .mapping(let mapping) = node else {
            throw TopologySource(key: key, node: node).error(in: path, "expected a mapping such as \(example), got \(describe(node))")
        }
        let section = MappingNode(mapping: mapping, node: node, key: key)
        try checkKeys(of: section, allowed: allowed)
        return section
    }

    func string(_ node: Node, key: String, expected: String = "a string") throws(TopologyError) -> String {
        guard case .scalar(let scalar) = node, !isNull(node) else {
            throw TopologySource(key: key, node: node).error(in: path, "expected \(expected), got \(describe(node))")
        }
        return scalar.string
    }

    func integer(_ node: Node, key: String, in range: ClosedRange<Int>) throws(TopologyError) -> Int {
        guard case .scalar(let scalar) = node, !isNull(node), let value = Int(scalar.string), range.contains(value) else {
            throw TopologySource(key: key, node: node).error(
                in: path, "expected \(Self.describe(range)), got \(describe(node))")
        }
        return value
    }

    /// "an integer from 10 to 60000", or "an integer of at least 1" when there is no upper bound.
    static func describe(_ range: ClosedRange<Int>) -> String {
        range.upperBound == Int.max
            ? "an integer of at least \(range.lowerBound)"
            : "an integer from \(range.lowerBound) to \(range.upperBound)"
    }

    /// How a node reads in a message: `"abc"`, `nothing`, `a mapping`, `a list`.
    func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): isNull(node) ? "nothing" : "\"\(scalar.string)\""
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    /// Whether `node` is YAML's null: an empty value, `~` or `null`, unquoted.
    func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }
}

/// A YAML mapping with its node (for its position) and its key path (for messages).
struct MappingNode {
    let mapping: Node.Mapping
    let node: Node
    let key: String

    /// The key path of `name` inside this mapping.
    func path(_ name: String) -> String {
        key.isEmpty ? name : "\(key).\(name)"
    }

    /// The value under the scalar key `name`, if any.
    func value(_ name: String) -> Node? {
        for (keyNode, value) in mapping {
            if case .scalar(let scalar) = keyNode, scalar.string == name { return value }
        }
        return nil
    }
}
