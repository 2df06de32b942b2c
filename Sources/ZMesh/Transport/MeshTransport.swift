package import MeshClock

/// What the mesh needs from a network, and nothing more: a serial executor its node's state
/// runs on, timers and a clock on that executor, and sockets that move envelopes.
///
/// The clients, services, registries and brokers of this module are generic over a
/// transport: ``ZMQTransport`` (libzmq, the only part of the mesh that imports ZeroMQ) in
/// production, an in-process transport with a manual clock in tests. The types are concrete
/// where the mesh uses them, so the optimizer specializes every call: the seam costs nothing
/// per message.
///
/// Everything isolated runs on the transport's executor, as do the actors of the nodes that
/// use it and every socket it makes: one thread per socket, by construction.
package protocol MeshTransport: Actor {
    /// The transport's socket.
    associatedtype Socket: MeshSocket
    /// A scheduled timer, for cancelling it.
    associatedtype Timer: Sendable

    /// True when the caller runs on this transport's executor.
    nonisolated var isCurrent: Bool { get }

    /// A task executor running on the transport's own thread, if it has one: tasks that
    /// prefer it (inline handlers behind interceptors) run there with no thread hand-off.
    nonisolated var taskExecutor: (any TaskExecutor)? { get }

    /// Runs `work` on the executor soon; callable from any thread.
    nonisolated func execute(_ work: @escaping @Sendable () -> Void)

    /// The time now, by the clock the transport's timers run on.
    nonisolated func now() -> MonotonicTime

    /// Runs `action` on the executor at `deadline` (at once if it has passed). Executor only.
    nonisolated func schedule(at deadline: MonotonicTime, _ action: @escaping () -> Void) -> Timer

    /// Cancels a timer that has not fired. Executor only.
    nonisolated func cancel(_ timer: Timer)

    /// A new socket of `kind` with `options`.
    func makeSocket(_ kind: SocketKind, options: SocketOptions) throws -> Socket

    /// Stops what the transport runs beside the sockets (such as a security handler).
    func close()

    /// Closes, and releases the executor if the transport owns it, once its node has closed.
    /// Not from the executor itself.
    nonisolated func shutdown() async
}

extension MeshTransport {
    /// Runs `action` on the executor after `delay`. Executor only.
    nonisolated func schedule(after delay: Duration, _ action: @escaping () -> Void) -> Timer {
        schedule(at: now().advanced(by: delay), action)
    }
}

/// The socket patterns the mesh uses (ZeroMQ's names, RFC 28 and 29).
package enum SocketKind: Sendable {
    /// Addressed: what arrives carries the sender's routing id first; a send names its peer.
    case router
    /// Unaddressed, one or more peers, sends fair-queued.
    case dealer
    /// Publishes to every subscriber whose prefix matches.
    case publisher
    /// Receives what publishers send that starts with its subscription.
    case subscriber
}

/// How a socket behaves: queue bounds, liveness, reconnection, security. Unset values take
/// the transport's defaults.
package struct SocketOptions: Sendable {
    /// Most messages queued to send, per peer.
    package var sendHighWaterMark: Int32?
    /// Most messages queued on receipt, per peer.
    package var receiveHighWaterMark: Int32?
    /// Largest message taken from a peer; a bigger one drops its connection.
    package var maxMessageBytes: Int?
    /// How often an idle connection is probed; a peer silent for three intervals is lost.
    package var peerHeartbeat: Duration?
    /// TCP keep-alive: probe a connection silent for `idle`, every `interval`, and drop it after
    /// `count` unanswered probes (whole seconds). The kernel does the probing, so unlike
    /// ``peerHeartbeat`` it costs nothing per connection in libzmq (whose timer cancellation is
    /// linear in the number of timers: quadratic over thousands of peers).
    package var tcpKeepalive: (idle: Duration, interval: Duration, count: Int32)?
    /// First and longest wait before reconnecting (backing off in between).
    package var reconnect: (first: Duration, longest: Duration)?
    /// Queue messages only for connections that are up (not for ones still connecting).
    package var immediate = false
    /// A router reports a send to an unknown peer (``SendOutcome/unroutable``) instead of
    /// dropping it silently.
    package var routerMandatory = false
    /// How long unsent messages keep a closed socket's connections open.
    package var linger: Duration?
    /// The id this socket gives itself towards the routers it connects to.
    package var routingID: [UInt8]?
    /// While the socket is busy, read at most once per this window (fewer wake-ups for many
    /// small messages from many peers; a message waits at most the window). Nil reads at once.
    /// The in-process transport reads at once regardless.
    package var readCoalescing: Duration?
    /// Send coalescing: at most this many small messages sent during a turn of the socket's
    /// event loop are held and handed to the network together at the turn's end (fewer
    /// writes and wake-ups; nothing waits past the turn). Nil or 0 sends each at once. A held
    /// message the network refuses afterwards is reported to ``MeshSocket/onLateSendFailure(_:)``.
    /// The in-process transport sends at once regardless.
    package var sendCoalescing: Int?
    /// What the mesh's call and reply sockets hold per turn (``sendCoalescing``): enough for a
    /// busy turn's messages to leave in a few writes, few enough that the first of them is not
    /// kept long behind the last.
    package static let meshSendCoalescing = 64
    /// For a subscriber: the prefix of what it wants.
    package var subscription: [UInt8]?
    /// CURVE: as a server (it accepts connections) or a client (it connects).
    package var security: SocketSecurity = .none

    package init() {}
}

/// Whether a socket encrypts and authenticates its connections.
package enum SocketSecurity: Sendable {
    /// Plain text.
    case none
    /// Accepts CURVE clients whose keys the settings trust.
    case curveServer(CurveSettings)
    /// Connects with the settings' key pair to servers whose keys it knows.
    case curveClient(CurveSettings)
}
