/// A store other than the built-in registries where instances register and are found: etcd
/// (`EtcdDirectory` in the ZMeshEtcd module), or one of your own.
///
/// A service node (or a broker, for its Majordomo workers) calls ``announce(_:expiry:)`` every
/// heartbeat interval and ``withdraw(_:)`` when it drains; clients and brokers
/// ``follow()`` the live instances. Set one with ``ServiceNode/Configuration/directory``,
/// ``BrokerNode/Configuration/directory`` and ``Discovery/directory(_:)``; the calling code
/// does not change.
public protocol InstanceDirectory: Sendable {
    /// Names the store in logs and errors, such as `etcd http://127.0.0.1:2379`.
    var name: String { get }

    /// Registers `instance`, or renews its registration, so that it is dropped `expiry`
    /// after the last renewal should its node die. Throws when the store cannot be reached
    /// (the node logs it and tries again at the next heartbeat).
    func announce(_ instance: InstanceInfo, expiry: Duration) async throws

    /// Removes `instance` at once (its node is draining).
    func withdraw(_ instance: InstanceInfo) async throws

    /// Every live instance, at once and again after each change, until the task is
    /// cancelled; it finishes by throwing when the store cannot be reached, and is followed
    /// again then (the follower keeps the last instances it had meanwhile).
    func follow() -> AsyncThrowingStream<[InstanceInfo], any Error>
}

extension InstanceInfo {
    /// A live instance, as a node announces itself to an ``InstanceDirectory``.
    public init(instance: String, node: String, endpoint: String, services: [String], load: Int, capacity: Int,
                role: String? = nil) {
        self.instance = instance
        self.node = node
        self.endpoint = endpoint
        self.services = services
        self.load = load
        self.capacity = capacity
        self.health = .live
        self.lastHeartbeatMillisecondsAgo = 0
        self.role = role
    }

    init(_ announcement: Announcement) {
        self.init(instance: announcement.instance, node: announcement.node, endpoint: announcement.endpoint,
                  services: announcement.services, load: announcement.load, capacity: announcement.capacity,
                  role: announcement.role)
    }
}
