/// The environment overrides for a topology file, applied after it is parsed and before the
/// endpoint uniqueness check:
///
/// - `ZMESH_HEARTBEAT_INTERVAL_MS`, `ZMESH_HEARTBEAT_LIVENESS`: replace the heartbeat values
///   (same ranges as in the file).
/// - `ZMESH_PORT_OFFSET`: an integer, possibly negative, added to the port of every `tcp://`
///   endpoint in the file (bind, publish, workers, advertise) and of every `metrics` address.
/// - `ZMESH_<NODE>_BIND` (node name uppercased, `-` as `_`, so `ZMESH_ECHO_1_BIND`): replaces
///   that node's bind. Applied after the offset, so it is taken literally.
///
/// A variable set to the empty string counts as unset.
struct TopologyEnvironment {
    static let portOffset = "ZMESH_PORT_OFFSET"
    static let heartbeatInterval = "ZMESH_HEARTBEAT_INTERVAL_MS"
    static let heartbeatLiveness = "ZMESH_HEARTBEAT_LIVENESS"

    /// The variable that overrides the bind of the node called `node`: `echo-1` -> `ZMESH_ECHO_1_BIND`.
    static func bindVariable(for node: String) -> String {
        "ZMESH_" + String(node.uppercased().map { $0 == "-" ? "_" : $0 }) + "_BIND"
    }

    let variables: [String: String]
    /// The file, for messages.
    let path: String

    func apply(to parsed: inout ParsedTopology) throws(TopologyError) {
        try applyHeartbeat(to: &parsed.topology.heartbeat)
        try applyPortOffset(to: &parsed)
        try applyBindOverrides(to: &parsed)
    }

    /// The variable's value, or nil when it is unset or empty.
    private func value(_ name: String) -> String? {
        guard let value = variables[name], !value.isEmpty else { return nil }
        return value
    }

    private func integer(_ name: String, in range: ClosedRange<Int>? = nil) throws(TopologyError) -> Int? {
        guard let text = value(name) else { return nil }
        let expected = range.map(TopologyParser.describe) ?? "an integer"
        guard let number = Int(text), range?.contains(number) ?? true else {
            throw TopologyError(path: path, key: name, message: "expected \(expected), got \"\(text)\"")
        }
        return number
    }

    private func applyHeartbeat(to heartbeat: inout Topology.Heartbeat) throws(TopologyError) {
        if let milliseconds = try integer(Self.heartbeatInterval, in: TopologyParser.intervalRange) {
            heartbeat.interval = .milliseconds(milliseconds)
        }
        if let liveness = try integer(Self.heartbeatLiveness, in: TopologyParser.livenessRange) {
            heartbeat.liveness = liveness
        }
    }

    /// Adds `ZMESH_PORT_OFFSET` to every tcp port, metrics addresses' included. A port pushed
    /// outside 1...65535 is reported at the endpoint in the file.
    private func applyPortOffset(to parsed: inout ParsedTopology) throws(TopologyError) {
        guard let offset = try integer(Self.portOffset), offset != 0 else { return }
        for field in parsed.endpoints {
            guard let endpoint = parsed.topology[endpoint: field.slot], endpoint.hasPrefix("tcp://") || field.slot.isMetrics,
                  let colon = endpoint.lastIndex(of: ":"),
                  let port = Int(endpoint[endpoint.index(after: colon)...]) else { continue }
            let (shifted, overflow) = port.addingReportingOverflow(offset)
            guard !overflow, (1...65_535).contains(shifted) else {
                let result = overflow ? "out of range" : "\(shifted)"
                throw field.source.error(
                    in: path, "\(Self.portOffset)=\(offset) moves port \(port) to \(result), outside 1 to 65535")
            }
            parsed.topology[endpoint: field.slot] = String(endpoint[...colon]) + String(shifted)
        }
    }

    /// Replaces binds named by `ZMESH_<NODE>_BIND` variables, checking each like an endpoint in the file.
    private func applyBindOverrides(to parsed: inout ParsedTopology) throws(TopologyError) {
        var claimed: [String: String] = [:]
        for index in parsed.endpoints.indices {
            let field = parsed.endpoints[index]
            switch field.slot {
            case .registryBind, .brokerBind, .serviceBind: break
            default: continue
            }
            let variable = Self.bindVariable(for: field.node)
            guard let endpoint = value(variable) else { continue }
            if let other = claimed[variable], other != field.node {
                throw TopologyError(path: path, key: variable,
                                    message: "matches both \(other) and \(field.node); rename one of them to override its bind")
            }
            claimed[variable] = field.node
            if let problem = Endpoint.problem(with: endpoint, allowWildcardPort: false) {
                throw TopologyError(path: path, key: variable, message: "\"\(endpoint)\": \(problem)")
            }
            parsed.topology[endpoint: field.slot] = endpoint
            parsed.endpoints[index].source = TopologySource(key: variable)
        }
    }
}
