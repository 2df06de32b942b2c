import DequeModule
package import MeshClock
import Synchronization
import ZMesh

/// A network inside one process, for testing the mesh's logic across roles without sockets
/// or sleeps: endpoints are names, messages are copied frames delivered in the order they
/// were sent, connection events are delivered in line with them, and time is a manual clock
/// that moves only when a test calls ``advance(by:)``.
///
/// Every node's ``InProcessTransport`` shares this network's executor, so everything the
/// nodes do runs on one serial queue; a delivery never runs inside the send that made it
/// (the sender's state machine is never re-entered), but in a later step of the queue.
///
/// ```swift
/// let network = InProcessNetwork()
/// let service = network.transport(named: "echo-1")   // ServiceCore(transport: service, ...)
/// await network.advance(by: .seconds(1))              // fires the timers due
/// service.kill()                                      // as kill -9: its peers see it go
/// ```
package actor InProcessNetwork {
    package nonisolated let executor: QueueExecutor
    package nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    private let time = Atomic<UInt64>(ManualClock().now.nanoseconds)
    private var listeners: [String: InProcessSocket] = [:]
    /// Sockets connecting to an endpoint nobody listens at (yet): they connect when it binds.
    private var waiting: [String: [(socket: InProcessSocket, peerID: [UInt8]?)]] = [:]
    private var deliveries = Deque<Delivery>()
    private var drainScheduled = false
    private var timers: [UInt64: (deadline: MonotonicTime, owner: ObjectIdentifier, action: () -> Void)] = [:]
    private var nextTimer: UInt64 = 0
    private var nextConnection: Int32 = 0
    private var nextIdentity: UInt32 = 0

    private enum Delivery {
        case message(InProcessSocket, InProcessFrames)
        case event(InProcessSocket, PeerEvent)
        case work(() -> Void)
    }

    package init() {
        executor = QueueExecutor(label: "zmesh-in-process")
    }

    /// A transport for one node: its sockets and timers die together in ``InProcessTransport/kill()``.
    package nonisolated func transport(named name: String) -> InProcessTransport {
        InProcessTransport(network: self, name: name)
    }

    // MARK: Time

    /// The time now.
    package nonisolated var now: MonotonicTime { MonotonicTime(nanoseconds: time.load(ordering: .relaxed)) }

    /// Moves the clock on by `duration`, firing every timer that falls due on the way, in
    /// deadline order, each at its own time; then delivers what they sent.
    package func advance(by duration: Duration) {
        let target = now.advanced(by: duration)
        while let (id, entry) = timers.filter({ $0.value.deadline <= target }).min(by: { ($0.value.deadline, $0.key) < ($1.value.deadline, $1.key) }) {
            timers[id] = nil
            if entry.deadline > now { time.store(entry.deadline.nanoseconds, ordering: .relaxed) }
            entry.action()
            drain()
        }
        time.store(target.nanoseconds, ordering: .relaxed)
        drain()
    }

    /// Delivers everything sent so far (and everything that sends), then returns.
    package func settle() { drain() }

    func schedule(at deadline: MonotonicTime, owner: ObjectIdentifier, _ action: @escaping () -> Void) -> UInt64 {
        nextTimer += 1
        let id = nextTimer
        if deadline <= now {
            // Due already: fired soon, in line with deliveries, unless cancelled first.
            enqueue(.work { [weak self] in self?.assumeIsolated { $0.fire(id) } })
        }
        timers[id] = (deadline, owner, action)
        return id
    }

    private func fire(_ id: UInt64) {
        guard let entry = timers.removeValue(forKey: id) else { return }
        entry.action()
    }

    func cancel(_ timer: UInt64) { timers[timer] = nil }

    func cancelTimers(of owner: ObjectIdentifier) { timers = timers.filter { $0.value.owner != owner } }

    // MARK: Deliveries

    func deliver(_ frames: InProcessFrames, to socket: InProcessSocket) { enqueue(.message(socket, frames)) }

    func report(_ event: PeerEvent, to socket: InProcessSocket) { enqueue(.event(socket, event)) }

    func run(_ work: @escaping () -> Void) { enqueue(.work(work)) }

    private func enqueue(_ delivery: Delivery) {
        deliveries.append(delivery)
        guard !drainScheduled else { return }
        drainScheduled = true
        executor.execute { [weak self] in self?.assumeIsolated { $0.drain() } }
    }

    private func drain() {
        drainScheduled = false
        while let delivery = deliveries.popFirst() {
            switch delivery {
            case .message(let socket, let frames): socket.assumeIsolated { $0.receive(frames) }
            case .event(let socket, let event): socket.assumeIsolated { $0.peerEvent(event) }
            case .work(let work): work()
            }
        }
    }

    // MARK: Endpoints and connections

    func newConnectionID() -> Int32 {
        nextConnection += 1
        return nextConnection
    }

    func newIdentity() -> [UInt8] {
        nextIdentity += 1
        return [0] + withUnsafeBytes(of: nextIdentity.bigEndian, Array.init)
    }

    func bind(_ socket: InProcessSocket, at endpoint: String) throws {
        if let holder = listeners[endpoint], holder !== socket {
            throw InProcessError("\(endpoint) is already bound")
        }
        listeners[endpoint] = socket
        for connector in waiting.removeValue(forKey: endpoint) ?? [] {
            connect(connector.socket, to: endpoint, peerID: connector.peerID)
        }
    }

    func connect(_ socket: InProcessSocket, to endpoint: String, peerID: [UInt8]?) {
        guard let listener = listeners[endpoint] else {
            waiting[endpoint, default: []].append((socket, peerID))
            report(PeerEvent(kind: .retrying, endpoint: endpoint, detail: "nobody listens at \(endpoint)"), to: socket)
            return
        }
        let id = newConnectionID()
        let connectorIdentity = socket.assumeIsolated { $0.identity }
        let listenerIdentity = listener.assumeIsolated { $0.identity }
        socket.assumeIsolated { $0.attach(id: id, peer: listener, peerRoutingID: peerID ?? listenerIdentity, endpoint: endpoint, connector: true) }
        listener.assumeIsolated { $0.attach(id: id, peer: socket, peerRoutingID: connectorIdentity, endpoint: endpoint, connector: false) }
    }

    /// The socket stops listening at `endpoint`.
    func unbind(_ socket: InProcessSocket, from endpoint: String) {
        if listeners[endpoint] === socket { listeners[endpoint] = nil }
    }

    /// A connector whose peer went away waits for the endpoint to be bound again.
    func reconnectLater(_ socket: InProcessSocket, to endpoint: String, peerID: [UInt8]?) {
        if let listener = listeners[endpoint], !listener.assumeIsolated({ $0.isClosed }) {
            connect(socket, to: endpoint, peerID: peerID)
        } else {
            waiting[endpoint, default: []].append((socket, peerID))
        }
    }

    /// The socket no longer connects anywhere.
    func forget(_ socket: InProcessSocket) {
        for (endpoint, connectors) in waiting {
            waiting[endpoint] = connectors.filter { $0.socket !== socket }
        }
    }

    /// The socket stops connecting to `endpoint`.
    func stopWaiting(_ socket: InProcessSocket, for endpoint: String) {
        waiting[endpoint]?.removeAll { $0.socket === socket }
    }
}

/// A misuse of the in-process network, such as binding an endpoint twice.
package struct InProcessError: Error, CustomStringConvertible {
    package let description: String
    init(_ description: String) { self.description = description }
}
