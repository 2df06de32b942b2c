import Foundation  // NSString, to find the keys directory beside the file
import Yams

/// The `security` section: whether CURVE is on, where the keys live, and the client key names.
extension TopologyParser {
    static let securityKeys = ["curve", "keys", "clients"]

    /// `security: { curve: true, keys: keys, clients: [ops, app] }`; nil when absent or off.
    func parseSecurity(_ node: Node?, nodeNames: Set<String>) throws(TopologyError) -> Topology.Security? {
        guard let section = try section(node, key: "security", example: "{ curve: true, keys: keys, clients: [ops] }",
                                        allowed: Self.securityKeys) else { return nil }
        let curveNode = try required("curve", in: section)
        let curveText = try string(curveNode, key: section.path("curve"), expected: "true or false")
        let curve: Bool
        switch curveText.lowercased() {
        case "true", "yes", "on": curve = true
        case "false", "no", "off": curve = false
        default:
            throw TopologySource(key: section.path("curve"), node: curveNode).error(in: path, "expected true or false, got \"\(curveText)\"")
        }
        var keys = "keys"
        if let value = section.value("keys"), !isNull(value) {
            keys = try string(value, key: section.path("keys"), expected: "a directory, such as keys")
            if keys.isEmpty {
                throw TopologySource(key: section.path("keys"), node: value).error(in: path, "expected a directory, such as keys")
            }
        }
        var clients: [String] = []
        if let value = section.value("clients"), !isNull(value) {
            guard case .sequence(let sequence) = value else {
                throw TopologySource(key: section.path("clients"), node: value).error(
                    in: path, "expected a list of client key names, such as [ops, app], got \(describe(value))")
            }
            for (offset, item) in sequence.enumerated() {
                let key = "\(section.path("clients"))[\(offset)]"
                let name = try string(item, key: key)
                if let problem = Self.nodeNameProblem(name) {
                    throw TopologySource(key: key, node: item).error(in: path, problem)
                }
                if nodeNames.contains(name) || clients.contains(name) {
                    throw TopologySource(key: key, node: item).error(
                        in: path, "\"\(name)\" is already a node or client name: each key name must be unique")
                }
                clients.append(name)
            }
        }
        guard curve else { return nil }
        // Keys live beside the file unless the path is absolute.
        let directory = (path as NSString).deletingLastPathComponent
        let resolved = keys.hasPrefix("/") || directory.isEmpty ? keys : "\(directory)/\(keys)"
        return Topology.Security(keysDirectory: resolved, clients: clients)
    }
}
