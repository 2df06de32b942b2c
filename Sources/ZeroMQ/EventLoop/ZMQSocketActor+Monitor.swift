import Synchronization

/// Socket monitors: libzmq reports a socket's connection events on an inproc PAIR, which the
/// actor reads on the loop thread like any socket.
extension ZMQSocketActor {
    /// Calls `handler` on the loop thread for each of this socket's `events`
    /// (connections made, lost, handshakes), read from a libzmq socket monitor.
    public func monitor(_ events: ZMQMonitorEvents, handler: @escaping (ZMQMonitorEvent) -> Void) throws {
        guard monitorSocket == nil else {
            monitorHandler = handler
            return
        }
        let endpoint = "inproc://zmesh-monitor-\(MonitorNames.next())"
        try socket.startMonitor(endpoint: endpoint, events: events)
        let pair = try loop.makeSocket(.pair)
        try pair.connect(endpoint)
        monitorSocket = pair
        monitorHandler = handler
        monitorRegistration = try loop.register(
            pair, interest: .readable,
            handler: { [weak self] _ in self?.assumeIsolated { $0.drainMonitor() } ?? false },
            onLoopShutdown: { [weak self] in self?.assumeIsolated { $0.closeNow() } })
        try ensureRegistered()
    }

    private func drainMonitor() -> Bool {
        guard let pair = monitorSocket else { return false }
        while let frames = try? pair.receive() {
            if let event = ZMQMonitorEvent(frames: frames) { monitorHandler?(event) }
        }
        return true
    }
}

/// Unique inproc names for socket monitors, process-wide.
enum MonitorNames {
    private static let counter = _MonitorCounter()
    static func next() -> UInt64 { counter.next() }
}

final class _MonitorCounter: Sendable {
    private let value = Atomic<UInt64>(0)
    func next() -> UInt64 { value.add(1, ordering: .relaxed).newValue }
}
