/// One endpoint field of a parsed topology: which node and field, and where its value came from.
struct TopologyEndpointField {
    enum Slot: Equatable {
        case registryBind(Int)
        case registryPublish(Int)
        case brokerBind(Int)
        case brokerWorkers(Int)
        case serviceBind(Int)
        case serviceAdvertise(Int)
        case registryMetrics(Int)
        case brokerMetrics(Int)
        case serviceMetrics(Int)

        /// The key in the file: `bind`, `publish`, `workers`, `advertise` or `metrics`.
        var key: String {
            switch self {
            case .registryBind, .brokerBind, .serviceBind: "bind"
            case .registryPublish: "publish"
            case .brokerWorkers: "workers"
            case .serviceAdvertise: "advertise"
            case .registryMetrics, .brokerMetrics, .serviceMetrics: "metrics"
            }
        }

        /// Whether the value is a metrics address (`HOST:PORT`) rather than a ZeroMQ endpoint.
        var isMetrics: Bool {
            switch self {
            case .registryMetrics, .brokerMetrics, .serviceMetrics: true
            default: false
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
            case .registryMetrics(let index): registries[index].metrics
            case .brokerMetrics(let index): brokers[index].metrics
            case .serviceMetrics(let index): services[index].metrics
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
            case .registryMetrics(let index): registries[index].metrics = newValue
            case .brokerMetrics(let index): brokers[index].metrics = newValue
            case .serviceMetrics(let index): services[index].metrics = newValue
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

    /// Throws if two nodes bind (or publish, or take workers on, or serve metrics on) the
    /// same endpoint. The later one, in file order, is reported; values set by environment
    /// variables count as later than anything in the file. A metrics address `HOST:PORT` is
    /// the TCP endpoint `tcp://HOST:PORT`, so it clashes with a bind on the same port too.
    func checkEndpointsAreUnique() throws(TopologyError) {
        var owners: [String: TopologyEndpointField] = [:]
        let ordered = endpoints.filter(\.slot.mustBeUnique).sorted { TopologySource.precedes($0.source, $1.source) }
        for field in ordered {
            guard let value = topology[endpoint: field.slot] else { continue }
            let socket = field.slot.isMetrics ? "tcp://" + value : value
            if let owner = owners[socket] {
                throw field.source.error(in: topology.path, "\(value) is already used by \(owner.node).\(owner.slot.key)")
            }
            owners[socket] = field
        }
    }
}
