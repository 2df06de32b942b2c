import DequeModule
import MeshClock

/// A registry's soft state: live instances by id, rebuilt from heartbeats alone, plus a
/// short memory of instances that went away (for `mesh.status`). Pure: no sockets, no clock
/// of its own, so it is tested directly.
struct RegistryTable {
    struct Entry {
        var announcement: Announcement
        var lastSeen: MonotonicTime
        var heartbeats: UInt64
    }

    struct Gone {
        var announcement: Announcement
        var at: MonotonicTime
        var health: InstanceInfo.Health
    }

    /// What a heartbeat or departure changed.
    struct Change: Equatable {
        /// Services whose list of live instances changed.
        var services: Set<String> = []
        var isEmpty: Bool { services.isEmpty }
    }

    private(set) var live: [String: Entry] = [:]
    private var gone = Deque<Gone>()
    let maxInstances: Int
    let goneMemory: Int

    init(maxInstances: Int = 100_000, goneMemory: Int = 256) {
        self.maxInstances = maxInstances
        self.goneMemory = goneMemory
    }

    /// Records a heartbeat. Returns what changed, or nil if it was refused (table full).
    mutating func heartbeat(_ announcement: Announcement, now: MonotonicTime) -> Change? {
        var change = Change()
        if var entry = live[announcement.instance] {
            let old = entry.announcement
            entry.announcement = announcement
            entry.lastSeen = now
            entry.heartbeats += 1
            live[announcement.instance] = entry
            if old.endpoint != announcement.endpoint || old.services != announcement.services {
                change.services.formUnion(old.services)
                change.services.formUnion(announcement.services)
            }
            return change
        }
        // A new instance at an endpoint another instance held: that one restarted.
        for (id, entry) in live where entry.announcement.endpoint == announcement.endpoint {
            live[id] = nil
            remember(entry.announcement, at: now, health: .replaced)
            change.services.formUnion(entry.announcement.services)
        }
        guard live.count < maxInstances else { return nil }
        live[announcement.instance] = Entry(announcement: announcement, lastSeen: now, heartbeats: 1)
        change.services.formUnion(announcement.services)
        return change
    }

    /// What became of a keep-alive.
    enum KeepAlive: Equatable {
        /// Taken: the instance is refreshed.
        case taken
        /// No such live instance: its full announcement is needed first.
        case unknown
        /// The instance's last beat was less than the minimum gap ago (a flood): dropped.
        case tooSoon
    }

    /// Records a keep-alive: the instance's announcement as before, with `load`, unless it
    /// follows the instance's last beat by less than `minimumGap`. One look-up of the table.
    mutating func keepAlive(_ instance: String, load: Int, now: MonotonicTime, minimumGap: Duration = .zero) -> KeepAlive {
        guard let index = live.index(forKey: instance) else { return .unknown }
        if minimumGap > .zero, live.values[index].lastSeen.advanced(by: minimumGap) > now { return .tooSoon }
        live.values[index].announcement.load = load
        live.values[index].lastSeen = now
        live.values[index].heartbeats += 1
        return .taken
    }

    /// Removes an instance that said goodbye.
    mutating func leave(_ instance: String, now: MonotonicTime) -> Change {
        guard let entry = live.removeValue(forKey: instance) else { return Change() }
        remember(entry.announcement, at: now, health: .left)
        return Change(services: Set(entry.announcement.services))
    }

    /// Evicts every instance silent for `expiry` or longer.
    mutating func evictExpired(now: MonotonicTime, expiry: Duration) -> (change: Change, evicted: [Announcement]) {
        var change = Change()
        var evicted: [Announcement] = []
        for (id, entry) in live where entry.lastSeen.advanced(by: expiry) <= now {
            live[id] = nil
            remember(entry.announcement, at: now, health: .evicted)
            change.services.formUnion(entry.announcement.services)
            evicted.append(entry.announcement)
        }
        return (change, evicted.sorted { $0.instance < $1.instance })
    }

    /// When the next instance would expire, if any.
    func nextExpiry(expiry: Duration) -> MonotonicTime? {
        live.values.map { $0.lastSeen.advanced(by: expiry) }.min()
    }

    /// Live instances of `service` (of every service if nil), sorted by node then instance.
    func liveInstances(of service: String?, now: MonotonicTime) -> [InstanceInfo] {
        live.values
            .filter { service == nil || $0.announcement.services.contains(service ?? "") }
            .map { info($0.announcement, health: .live, since: $0.lastSeen, now: now) }
            .sorted { ($0.node, $0.instance) < ($1.node, $1.instance) }
    }

    /// Live instances, and those gone recently by how they went (for gauges).
    var countsByHealth: [InstanceInfo.Health: Int] {
        var counts: [InstanceInfo.Health: Int] = [.live: live.count]
        for entry in gone { counts[entry.health, default: 0] += 1 }
        return counts
    }

    /// Live instances and those gone recently, for status displays.
    func allInstances(now: MonotonicTime) -> [InstanceInfo] {
        liveInstances(of: nil, now: now)
            + gone.reversed().map { info($0.announcement, health: $0.health, since: $0.at, now: now) }
    }

    private mutating func remember(_ announcement: Announcement, at: MonotonicTime, health: InstanceInfo.Health) {
        gone.append(Gone(announcement: announcement, at: at, health: health))
        while gone.count > goneMemory { gone.removeFirst() }
    }

    private func info(_ announcement: Announcement, health: InstanceInfo.Health, since: MonotonicTime, now: MonotonicTime) -> InstanceInfo {
        InstanceInfo(instance: announcement.instance, node: announcement.node, endpoint: announcement.endpoint,
                     services: announcement.services, load: announcement.load, capacity: announcement.capacity,
                     health: health, lastHeartbeatMillisecondsAgo: Int(since.nanoseconds(until: now) / 1_000_000),
                     role: announcement.role)
    }
}
