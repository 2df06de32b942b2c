/// Registers an instance where clients and brokers look services up: a service node's
/// handlers, or a broker's Majordomo workers' services.
///
/// The owner keeps the rhythm (it calls ``announce(_:)`` every heartbeat interval from its
/// own timer); the announcer only carries each announcement to wherever instances are
/// registered. ``RegistryAnnouncer`` sends them to the built-in registries; another
/// registration back end (etcd, say) is another conforming type, chosen by the node's
/// configuration. An actor on its owner's executor, so the owner calls it synchronously with
/// `assumeIsolated`.
protocol ServiceAnnouncer: Actor {
    /// Connects to wherever announcements go; nothing is announced until ``announce(_:)``.
    func start() throws
    /// Says the instance is alive, with its current services and load (a heartbeat).
    /// Dropped, not queued, if it cannot go now: the next one supersedes it.
    func announce(_ announcement: Announcement)
    /// Says the instance is leaving (or no longer serves these services), so it is removed at
    /// once rather than when its heartbeats stop.
    func withdraw(_ announcement: Announcement)
    /// Stops announcing and lets go of its connections.
    func close()
    /// Returns once a withdrawal made is done (or has failed): a node stopping waits for it,
    /// so its registration is gone before the process ends.
    func withdrawn() async
}

extension ServiceAnnouncer {
    /// Withdrawals that are sent at once need no wait.
    func withdrawn() async {}
}
