public import Foundation  // ProcessInfo is the default argument of Topology.load(path:environment:)
import Yams

extension Topology {
    /// Reads, parses and checks the topology file at `path`, then applies the environment
    /// overrides (`ZMESH_PORT_OFFSET`, `ZMESH_<NODE>_BIND`, `ZMESH_HEARTBEAT_INTERVAL_MS`,
    /// `ZMESH_HEARTBEAT_LIVENESS`) found in `environment`.
    ///
    /// Every problem is reported as a ``TopologyError`` naming the file, the line and column
    /// when known, and the key path, such as `services[1].bind`. See docs/OPERATIONS.md.
    ///
    /// - Parameters:
    ///   - path: The file, as it should appear in messages.
    ///   - environment: Where overrides come from; the process environment by default.
    /// - Returns: The topology, with ``path`` set to `path`.
    public static func load(
        path: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(TopologyError) -> Topology {
        let text = try TopologyParser.readFile(at: path)
        return try parse(yaml: text, path: path, environment: environment)
    }

    /// Parses and checks topology YAML already in memory, then applies the environment
    /// overrides found in `environment` (none by default).
    ///
    /// - Parameters:
    ///   - yaml: The contents of a topology file.
    ///   - path: The file it came from, for messages and ``path``.
    ///   - environment: Where overrides come from; empty by default, so nothing is overridden.
    /// - Returns: The topology, with ``path`` set to `path`.
    public static func parse(
        yaml: String,
        path: String,
        environment: [String: String] = [:]
    ) throws(TopologyError) -> Topology {
        var parsed = try TopologyParser(path: path).parse(yaml: yaml)
        try TopologyEnvironment(variables: environment, path: path).apply(to: &parsed)
        try parsed.checkEndpointsAreUnique()
        return parsed.topology
    }
}

/// Reads topology YAML into a ``Topology``, checking every rule in docs/OPERATIONS.md
/// ("Topology files"). Errors carry the key path and the line and column of the offending
/// YAML node. Environment overrides are applied afterwards by ``TopologyEnvironment``.
struct TopologyParser {
    static let topLevelKeys = ["topology", "heartbeat", "limits", "registries", "registry", "brokers", "services", "security"]
    /// For `max_queue`, in brokers and in services.
    static let maxQueueRange = 0...1_000_000

    /// The file, for messages.
    let path: String

    // MARK: - Reading

    /// The file's text, or a ``TopologyError`` with an empty key saying why it cannot be read.
    static func readFile(at path: String) throws(TopologyError) -> String {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw TopologyError(path: path, key: "", message: "cannot read the file: \(reason(for: error))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw TopologyError(path: path, key: "", message: "cannot read the file: it is not UTF-8 text")
        }
        return text
    }

    /// The operating system's words for why a read failed ("No such file or directory"), if it said.
    private static func reason(for error: any Error) -> String {
        let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? any Error
        for candidate in [underlying, error].compactMap({ $0 }) {
            let nsError = candidate as NSError
            if nsError.domain == NSPOSIXErrorDomain, let code = Int32(exactly: nsError.code) {
                return String(cString: strerror(code))
            }
        }
        return error.localizedDescription
    }

    // MARK: - The whole file

    func parse(yaml: String) throws(TopologyError) -> ParsedTopology {
        let root = try compose(yaml)
        let expected = Self.topLevelKeys.joined(separator: ", ")
        guard case .mapping(let mapping) = root else {
            throw TopologySource(key: "", node: root).error(
                in: path, "expected a mapping at the top level, with the keys \(expected); got \(describe(root))")
        }
        let top = MappingNode(mapping: mapping, node: root, key: "")
        try checkKeys(of: top, allowed: Self.topLevelKeys)

        let kindNode = try required("topology", in: top)
        let kindName = try string(kindNode, key: "topology", expected: "brokerless or brokered")
        guard let kind = Topology.Kind(rawValue: kindName) else {
            throw TopologySource(key: "topology", node: kindNode).error(
                in: path, "expected brokerless or brokered, got \"\(kindName)\"")
        }

        var endpoints: [TopologyEndpointField] = []
        var names: [DeclaredName] = []

        let heartbeat = try parseHeartbeat(top.value("heartbeat"))
        let metadataLimits = try parseLimits(top.value("limits"))
        let etcd = try parseEtcd(top.value("registry"))
        var registries: [Topology.Registry] = []
        if let etcd, let listed = top.value("registries"), !isNull(listed) {
            throw TopologySource(key: "registries", node: listed).error(
                in: path, "this file keeps its instances in etcd (registry.etcd at \(etcd.endpoints.joined(separator: ", "))): remove registries, or remove registry")
        } else if etcd == nil {
            registries = try parseRegistries(in: top, names: &names, endpoints: &endpoints)
        }
        let brokersNode = top.value("brokers")
        let brokers = try parseBrokers(brokersNode, names: &names, endpoints: &endpoints)
        let services = try parseServices(top.value("services"), names: &names, endpoints: &endpoints)
        try checkBrokers(brokers, in: brokersNode, for: kind, root: root)

        try checkNamesAreUnique(names)
        let security = try parseSecurity(top.value("security"), nodeNames: Set(names.map(\.name)))

        var topology = Topology(kind: kind, heartbeat: heartbeat, registries: registries, brokers: brokers,
                                services: services, path: path)
        topology.security = security
        topology.metadataLimits = metadataLimits
        topology.etcd = etcd
        return ParsedTopology(topology: topology, endpoints: endpoints)
    }

    /// The root node, or a ``TopologyError`` for an empty file or a YAML syntax error.
    private func compose(_ yaml: String) throws(TopologyError) -> Node {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw syntaxError(error, in: yaml)
        } catch {
            throw TopologyError(path: path, key: "", message: "cannot parse the YAML: \(error)")
        }
        guard let root, !isNull(root) else {
            throw TopologyError(path: path, key: "", message: "the file is empty; expected a mapping with the keys "
                                + Self.topLevelKeys.joined(separator: ", "))
        }
        return root
    }

    private func syntaxError(_ error: YamlError, in yaml: String) -> TopologyError {
        func located(_ mark: Mark, _ problem: String, _ context: YamlError.Context?) -> TopologyError {
            var message = "invalid YAML: \(problem)"
            if let context {
                message += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
            }
            return TopologyError(path: path, line: mark.line, column: mark.column, key: "", message: message)
        }
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            return located(mark, problem, context)
        case let .reader(problem, offset, _, _):
            guard let offset, let (line, column) = Self.lineAndColumn(ofCharacter: offset, in: yaml) else {
                return TopologyError(path: path, key: "", message: "invalid YAML: \(problem)")
            }
            return TopologyError(path: path, line: line, column: column, key: "", message: "invalid YAML: \(problem)")
        case let .duplicatedKeysInMapping(duplicates, context):
            let keys = duplicates.map { "\"\($0)\"" }.joined(separator: ", ")
            let noun = duplicates.count == 1 ? "key" : "keys"
            return TopologyError(path: path, line: context.mark.line, column: context.mark.column, key: "",
                                 message: "invalid YAML: duplicate \(noun) \(keys) in one mapping")
        default:
            return TopologyError(path: path, key: "", message: "invalid YAML: \(error)")
        }
    }

    /// The 1-based line and column of the character `offset` characters into `text`.
    static func lineAndColumn(ofCharacter offset: Int, in text: String) -> (line: Int, column: Int)? {
        guard offset >= 0, offset <= text.count else { return nil }
        var line = 1
        var column = 1
        for character in text.prefix(offset) {
            if character.isNewline {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return (line, column)
    }
}
