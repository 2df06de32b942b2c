import MeshClock

extension BrokerRouter {
    /// A service instance as the broker sees it.
    struct Instance {
        /// Where requests for it go.
        enum Kind: Equatable {
            /// A mesh service node, reached through the back end.
            case service
            /// Another broker's front end, announcing the services of its Majordomo workers;
            /// only requests that came straight from a client go there (never broker to broker
            /// to broker).
            case broker
            /// A Majordomo worker (any dialect) connected to this broker's workers socket.
            case worker
        }

        /// Its instance id (workers: one the broker makes up from the routing id).
        let id: String
        /// The routing id the broker addresses it by.
        let routingID: [UInt8]
        /// Where it listens (workers: the broker's workers endpoint).
        let endpoint: String
        /// The services it serves.
        var services: [String]
        /// Most requests it takes at once.
        var capacity: Int
        /// What it is.
        var kind: Kind
        /// Requests the broker sent it that it has not answered.
        var outstanding = 0
        /// The back end's connection to it has finished its handshake (workers: READY came).
        var ready = false
        /// Workers: the descriptor of its connection, to match the monitor's disconnects.
        var descriptor: Int32?
        /// Workers: when it last sent anything.
        var lastHeard: MonotonicTime
        /// Workers: when the broker last sent it anything.
        var lastSent: MonotonicTime
        /// Workers: the Majordomo dialect it registered in, and is spoken to in.
        var dialect: MDP.Dialect = .rfc18

        /// An instance first known at `now`, not ready yet, holding nothing.
        init(id: String, routingID: [UInt8], endpoint: String, services: [String], capacity: Int, kind: Kind,
             since now: MonotonicTime) {
            self.id = id
            self.routingID = routingID
            self.endpoint = endpoint
            self.services = services
            self.capacity = capacity
            self.kind = kind
            self.lastHeard = now
            self.lastSent = now
        }

        /// Ready, and holding fewer requests than it takes.
        var hasRoom: Bool { ready && outstanding < max(1, capacity) }
    }
}

/// The instances a broker knows, by id, and the indexes that find them: by endpoint (the back
/// end's monitor events), by service, and workers by routing id and connection descriptor.
/// Adding and removing keeps the indexes consistent; the service index is rebuilt on demand.
struct InstanceTable {
    /// Every instance, by id.
    private var byID: [String: BrokerRouter.Instance] = [:]
    /// Service nodes and brokers by the endpoint the back end connected to.
    private var byEndpoint: [String: String] = [:]
    /// Service name -> every instance that serves it, sorted. A service whose last instance
    /// went keeps an empty list until the next rebuild.
    private(set) var byService: [String: [String]] = [:]
    /// Workers by routing id.
    private var workerByRoutingID: [[UInt8]: String] = [:]
    /// Workers by their connection's descriptor.
    private var workerByDescriptor: [Int32: String] = [:]

    /// The instance with this id.
    subscript(id: String) -> BrokerRouter.Instance? { byID[id] }

    /// How many instances there are.
    var count: Int { byID.count }
    /// Every instance id.
    var ids: Dictionary<String, BrokerRouter.Instance>.Keys { byID.keys }
    /// Every instance, in no particular order.
    var all: Dictionary<String, BrokerRouter.Instance>.Values { byID.values }
    /// The instances serving `service`, sorted by id.
    func serving(_ service: String) -> [String] { byService[service] ?? [] }
    /// The instance at a back-end endpoint (not workers).
    func id(at endpoint: String) -> String? { byEndpoint[endpoint] }
    /// The worker with this routing id.
    func worker(routingID: [UInt8]) -> String? { workerByRoutingID[routingID] }
    /// The worker whose connection has this descriptor.
    func worker(descriptor: Int32) -> String? { workerByDescriptor[descriptor] }
    /// How many workers there are.
    var workerCount: Int { workerByRoutingID.count }
    /// Whether the instance is ready and has room for one more request.
    func hasRoom(_ id: String) -> Bool { byID[id]?.hasRoom ?? false }

    /// Adds an instance and indexes it (by endpoint, or for workers by routing id and descriptor).
    mutating func insert(_ instance: BrokerRouter.Instance) {
        byID[instance.id] = instance
        if instance.kind == .worker {
            workerByRoutingID[instance.routingID] = instance.id
            if let descriptor = instance.descriptor { workerByDescriptor[descriptor] = instance.id }
        } else {
            byEndpoint[instance.endpoint] = instance.id
        }
    }

    /// Removes an instance and its endpoint or worker entries; the service index keeps it
    /// until ``dropFromServiceIndex(_:)`` or ``rebuildServiceIndex()``.
    mutating func remove(_ id: String) -> BrokerRouter.Instance? {
        guard let instance = byID.removeValue(forKey: id) else { return nil }
        if instance.kind == .worker {
            workerByRoutingID[instance.routingID] = nil
            if let fd = instance.descriptor, workerByDescriptor[fd] == id { workerByDescriptor[fd] = nil }
        } else if byEndpoint[instance.endpoint] == id {
            byEndpoint[instance.endpoint] = nil
        }
        return instance
    }

    /// Changes the count of requests the instance holds.
    mutating func addOutstanding(_ id: String, _ delta: Int) { byID[id]?.outstanding += delta }
    /// The instance holds nothing any more (it is gone, and what it held was re-dispatched).
    mutating func resetOutstanding(_ id: String) { byID[id]?.outstanding = 0 }
    /// Marks the instance's connection as working or not.
    mutating func setReady(_ id: String, _ ready: Bool) { byID[id]?.ready = ready }
    /// What a registry now says the instance serves, and its capacity.
    mutating func update(_ id: String, services: [String], capacity: Int) {
        byID[id]?.services = services
        byID[id]?.capacity = capacity
    }
    /// A worker sent something at `now`.
    mutating func heard(from id: String, at now: MonotonicTime) { byID[id]?.lastHeard = now }
    /// The broker sent a worker something at `now`.
    mutating func sent(to id: String, at now: MonotonicTime) { byID[id]?.lastSent = now }

    /// Service name -> every instance that serves it: service nodes, other brokers, workers.
    mutating func rebuildServiceIndex() {
        byService = [:]
        for (id, instance) in byID {
            for service in instance.services { byService[service, default: []].append(id) }
        }
        for service in byService.keys { byService[service]?.sort() }
    }

    /// Takes one instance out of every service's list, leaving the rest as they are.
    mutating func dropFromServiceIndex(_ id: String) {
        byService = byService.mapValues { $0.filter { $0 != id } }
    }
}
