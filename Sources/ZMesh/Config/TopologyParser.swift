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

/// Where a value came from: its key path and position in the file, or the environment
/// variable that set it (then `key` is the variable's name and there is no position).
struct TopologySource: Equatable {
    var key: String
    var line: Int?
    var column: Int?

    init(key: String, line: Int? = nil, column: Int? = nil) {
        self.key = key
        self.line = line
        self.column = column
    }

    init(key: String, node: Node) {
        self.init(key: key, line: node.mark?.line, column: node.mark?.column)
    }

    /// Orders sources by position in the file; environment variables (no position) come last.
    static func precedes(_ lhs: TopologySource, _ rhs: TopologySource) -> Bool {
        switch (lhs.line, rhs.line) {
        case let (left?, right?):
            left != right ? left < right : (lhs.column ?? 0) < (rhs.column ?? 0)
        case (.some, nil):
            true
        case (nil, _):
            false
        }
    }

    func error(in path: String, _ message: String) -> TopologyError {
        TopologyError(path: path, line: line, column: column, key: key, message: message)
    }
}

/// One endpoint field of a parsed topology: which node and field, and where its value came from.
struct TopologyEndpointField {
    enum Slot: Equatable {
        case registryBind(Int)
        case registryPublish(Int)
        case brokerBind(Int)
        case brokerWorkers(Int)
        case serviceBind(Int)
        case serviceAdvertise(Int)

        /// The key in the file: `bind`, `publish`, `workers` or `advertise`.
        var key: String {
            switch self {
            case .registryBind, .brokerBind, .serviceBind: "bind"
            case .registryPublish: "publish"
            case .brokerWorkers: "workers"
            case .serviceAdvertise: "advertise"
            }
        }

        /// Whether no other endpoint in the file may have the same value. `advertise` names
        /// where others connect, not a socket the node binds, so it is exempt.
        var mustBeUnique: Bool {
            if case .serviceAdvertise = self { return false }
            return true
        }
    }

    var slot: Slot
    /// The node's name, such as `echo-1`.
    var node: String
    var source: TopologySource
}

extension Topology {
    /// The value of one endpoint field; setting nil leaves a required `bind` unchanged.
    subscript(endpoint slot: TopologyEndpointField.Slot) -> String? {
        get {
            switch slot {
            case .registryBind(let index): registries[index].bind
            case .registryPublish(let index): registries[index].publish
            case .brokerBind(let index): brokers[index].bind
            case .brokerWorkers(let index): brokers[index].workers
            case .serviceBind(let index): services[index].bind
            case .serviceAdvertise(let index): services[index].advertise
            }
        }
        set {
            switch slot {
            case .registryBind(let index): if let newValue { registries[index].bind = newValue }
            case .registryPublish(let index): registries[index].publish = newValue
            case .brokerBind(let index): if let newValue { brokers[index].bind = newValue }
            case .brokerWorkers(let index): brokers[index].workers = newValue
            case .serviceBind(let index): if let newValue { services[index].bind = newValue }
            case .serviceAdvertise(let index): services[index].advertise = newValue
            }
        }
    }
}

/// A topology as read from the file, with where each endpoint came from, so checks made
/// after the environment overrides can still point at the right line.
struct ParsedTopology {
    var topology: Topology
    /// Every endpoint set in the file, in the order it was read.
    var endpoints: [TopologyEndpointField]

    /// Throws if two nodes bind (or publish, or take workers on) the same endpoint. The
    /// later one, in file order, is reported; values set by environment variables count as
    /// later than anything in the file.
    func checkEndpointsAreUnique() throws(TopologyError) {
        var owners: [String: TopologyEndpointField] = [:]
        let ordered = endpoints.filter(\.slot.mustBeUnique).sorted { TopologySource.precedes($0.source, $1.source) }
        for field in ordered {
            guard let value = topology[endpoint: field.slot] else { continue }
            if let owner = owners[value] {
                throw field.source.error(in: topology.path, "\(value) is already used by \(owner.node).\(owner.slot.key)")
            }
            owners[value] = field
        }
    }
}

/// Reads topology YAML into a ``Topology``, checking every rule in docs/OPERATIONS.md
/// ("Topology files"). Errors carry the key path and the line and column of the offending
/// YAML node. Environment overrides are applied afterwards by ``TopologyEnvironment``.
struct TopologyParser {
    static let topLevelKeys = ["topology", "heartbeat", "registries", "brokers", "services", "security"]
    static let securityKeys = ["curve", "keys", "clients"]
    static let heartbeatKeys = ["interval_ms", "liveness"]
    static let registryKeys = ["name", "bind", "publish"]
    static let brokerKeys = ["name", "bind", "workers", "max_queue", "mdp_expiry_ms"]
    static let serviceKeys = ["name", "service", "services", "bind", "advertise", "max_concurrency", "max_queue", "executable", "args"]
    static let maxQueueRange = 0...1_000_000
    static let majordomoExpiryRange = 100...3_600_000

    static let intervalRange = 10...60_000
    static let livenessRange = 1...100
    static let maxConcurrencyRange = 1...Int.max
    static let maxServiceNameBytes = 255

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
        var names: [(name: String, entry: String, source: TopologySource)] = []

        let heartbeat = try parseHeartbeat(top.value("heartbeat"))

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
            registries.append(Topology.Registry(name: name, bind: bind?.value ?? "", publish: publish?.value))
            if let bind { endpoints.append(.init(slot: .registryBind(index), node: name, source: bind.source)) }
            if let publish { endpoints.append(.init(slot: .registryPublish(index), node: name, source: publish.source)) }
        }

        let brokersNode = top.value("brokers")
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
            brokers.append(Topology.Broker(name: name, bind: bind?.value ?? "", workers: workers?.value, maxQueue: maxQueue,
                                           majordomoExpiry: majordomoExpiry))
            if let bind { endpoints.append(.init(slot: .brokerBind(index), node: name, source: bind.source)) }
            if let workers { endpoints.append(.init(slot: .brokerWorkers(index), node: name, source: workers.source)) }
        }

        let servicesNode = top.value("services")
        let serviceEntries = try servicesNode.map { node throws(TopologyError) in try mappings(node, key: "services") } ?? []
        var services: [Topology.ServiceInstance] = []
        for entry in serviceEntries {
            let index = services.count
            let (service, bind, advertise) = try parseService(entry, names: &names)
            services.append(service)
            if let bind { endpoints.append(.init(slot: .serviceBind(index), node: service.name, source: bind)) }
            if let advertise { endpoints.append(.init(slot: .serviceAdvertise(index), node: service.name, source: advertise)) }
        }

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

        try checkNamesAreUnique(names)
        let security = try parseSecurity(top.value("security"), nodeNames: Set(names.map(\.name)))

        var topology = Topology(kind: kind, heartbeat: heartbeat, registries: registries, brokers: brokers,
                                services: services, path: path)
        topology.security = security
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

    // MARK: - Sections

    /// `security: { curve: true, keys: keys, clients: [ops, app] }`; nil when absent or off.
    private func parseSecurity(_ node: Node?, nodeNames: Set<String>) throws(TopologyError) -> Topology.Security? {
        guard let node, !isNull(node) else { return nil }
        guard case .mapping(let mapping) = node else {
            throw TopologySource(key: "security", node: node).error(
                in: path, "expected a mapping such as { curve: true, keys: keys, clients: [ops] }, got \(describe(node))")
        }
        let section = MappingNode(mapping: mapping, node: node, key: "security")
        try checkKeys(of: section, allowed: Self.securityKeys)
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

    private func parseHeartbeat(_ node: Node?) throws(TopologyError) -> Topology.Heartbeat {
        var heartbeat = Topology.Heartbeat()
        guard let node, !isNull(node) else { return heartbeat }
        guard case .mapping(let mapping) = node else {
            throw TopologySource(key: "heartbeat", node: node).error(
                in: path, "expected a mapping such as { interval_ms: 500, liveness: 3 }, got \(describe(node))")
        }
        let section = MappingNode(mapping: mapping, node: node, key: "heartbeat")
        try checkKeys(of: section, allowed: Self.heartbeatKeys)
        if let value = section.value("interval_ms"), !isNull(value) {
            let milliseconds = try integer(value, key: section.path("interval_ms"), in: Self.intervalRange)
            heartbeat.interval = .milliseconds(milliseconds)
        }
        if let value = section.value("liveness"), !isNull(value) {
            heartbeat.liveness = try integer(value, key: section.path("liveness"), in: Self.livenessRange)
        }
        return heartbeat
    }

    private func parseService(
        _ entry: MappingNode,
        names: inout [(name: String, entry: String, source: TopologySource)]
    ) throws(TopologyError) -> (Topology.ServiceInstance, bind: TopologySource?, advertise: TopologySource?) {
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

        let service = Topology.ServiceInstance(
            name: name, services: hosted, bind: bind?.value ?? "", advertise: advertise?.value,
            maxConcurrency: maxConcurrency, maxQueue: maxQueue, executable: executable, arguments: arguments)
        return (service, bind?.source, advertise?.source)
    }

    // MARK: - Names

    /// The entry's `name`, checked against the node-name rule and recorded for the uniqueness check.
    private func nodeName(
        in entry: MappingNode,
        names: inout [(name: String, entry: String, source: TopologySource)]
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

    private func checkNamesAreUnique(_ names: [(name: String, entry: String, source: TopologySource)]) throws(TopologyError) {
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

    // MARK: - Values

    /// An endpoint value and where it is; nil if absent and not required.
    private func endpoint(
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

    /// The value under `name`, or a "missing required key" error located at the mapping.
    private func required(_ name: String, in entry: MappingNode) throws(TopologyError) -> Node {
        guard let value = entry.value(name), !isNull(value) else {
            throw TopologySource(key: entry.key, node: entry.node).error(in: path, "missing required key \"\(name)\"")
        }
        return value
    }

    /// Throws at the first key of `entry` that is not in `allowed`.
    private func checkKeys(of entry: MappingNode, allowed: [String]) throws(TopologyError) {
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
    private func mappings(_ node: Node, key: String) throws(TopologyError) -> [MappingNode] {
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

    private func string(_ node: Node, key: String, expected: String = "a string") throws(TopologyError) -> String {
        guard case .scalar(let scalar) = node, !isNull(node) else {
            throw TopologySource(key: key, node: node).error(in: path, "expected \(expected), got \(describe(node))")
        }
        return scalar.string
    }

    private func integer(_ node: Node, key: String, in range: ClosedRange<Int>) throws(TopologyError) -> Int {
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
    private func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): isNull(node) ? "nothing" : "\"\(scalar.string)\""
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    /// Whether `node` is YAML's null: an empty value, `~` or `null`, unquoted.
    private func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }
}

/// A YAML mapping with its node (for its position) and its key path (for messages).
private struct MappingNode {
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
