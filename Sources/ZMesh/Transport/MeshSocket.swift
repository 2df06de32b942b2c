/// One socket of a ``MeshTransport``, an actor on the transport's executor.
///
/// It moves envelopes (`[routing ids] [] [header] [body]`, ZeroMQ's request-reply framing),
/// borrowing received frames where the transport can, and reports what happens to its
/// connections as ``PeerEvent``s. Sends never block: a message the network cannot take now
/// waits in a bounded queue, or is dropped and says so.
package protocol MeshSocket: Actor {
    /// A received message, valid only while the handler it is given to runs.
    associatedtype Received: ReceivedFrames

    /// Listens at `endpoint`.
    func bind(_ endpoint: String) throws
    /// The endpoint last bound, with a wildcard port resolved.
    func lastEndpoint() throws -> String
    /// Connects to `endpoint` (and keeps reconnecting when the connection is lost).
    func connect(_ endpoint: String) throws
    /// Connects to `endpoint`, naming the peer `peerID` for this router's sends.
    func connect(_ endpoint: String, peerID: [UInt8]) throws
    /// Stops connecting to `endpoint`.
    func disconnect(_ endpoint: String) throws

    /// Hands each message received to `handler`, borrowed, on the executor.
    func onFrames(_ handler: @escaping (Received) -> Void) throws
    /// Hands each message received to `handler`, copied, on the executor.
    func onMessage(_ handler: @escaping ([[UInt8]]) -> Void) throws
    /// Hands each connection event to `handler`, on the executor.
    func onPeerEvent(_ handler: @escaping (PeerEvent) -> Void) throws
    /// Delivers at once what has arrived but not been handed over yet: a peer's last
    /// messages, read before acting on its going away.
    func receivePending()

    /// Sends an envelope: routing ids (a router's first names the peer), the header, a body.
    func transmit(routing: [[UInt8]], header: UnsafeRawBufferPointer, body: [UInt8]) -> SendOutcome
    /// ``transmit(routing:header:body:)`` with a borrowed body (forwarding a received frame).
    func transmit(routing: [[UInt8]], header: UnsafeRawBufferPointer, bodyBytes: UnsafeRawBufferPointer) -> SendOutcome
    /// Sends a message of whole frames.
    func transmit(_ frames: [[UInt8]]) -> SendOutcome
    /// Hands `handler` the outcome of each message that was accepted when sent (held by send
    /// coalescing) but that the network then refused: a router's peer gone, a full queue.
    func onLateSendFailure(_ handler: @escaping (SendOutcome) -> Void)
    /// Sends a message if the network takes it now; otherwise drops it (for heartbeats and
    /// other messages that would be stale by the time a queue sent them).
    func sendOrDrop(_ frames: [[UInt8]]) -> Bool
    /// Drops every message waiting to be sent; returns how many.
    @discardableResult func discardOutbound() -> Int

    /// Closes at once; messages not yet sent are dropped.
    func close()
    /// Closes, letting messages already sent out for up to `linger`.
    func close(lingering linger: Duration)
}

/// What became of a message handed to a socket.
package enum SendOutcome: Sendable, Equatable {
    /// The network took it.
    case sent
    /// It waits in the socket's outbound queue.
    case queued
    /// A router has no peer with that routing id.
    case unroutable
    /// The outbound queue is full, or the socket closed: dropped.
    case dropped

    /// True if the message is on its way.
    package var accepted: Bool { self == .sent || self == .queued }
}

/// A received message's frames, plus what the transport knows of where they came from.
package protocol ReceivedFrames: FrameSource {
    /// The name the security handshake gave the connection frame `index` came on (the
    /// allow-list owner of its CURVE key); nil without security.
    func peerName(frame index: Int) -> String?
    /// The connection frame `index` came on, as an id ``PeerEvent/connection`` also uses.
    func connection(frame index: Int) -> Int32?
}

/// Something that happened to one of a socket's connections.
package struct PeerEvent: Sendable, Equatable {
    /// What happened.
    package enum Kind: Sendable, Equatable {
        /// The connection is up (handshake done): it carries traffic.
        case connected
        /// The connection closed.
        case disconnected
        /// A connect attempt failed; it will be retried.
        case retrying
        /// The peer was refused at the security handshake (`keyNotAllowed`: its key is not
        /// on the allow-list; otherwise it does not speak the security mechanism).
        case refused(keyNotAllowed: Bool)
    }

    /// What happened.
    package var kind: Kind
    /// The endpoint the connection is to or from.
    package var endpoint: String
    /// The connection's id for ``ReceivedFrames/connection(frame:)``, when known.
    package var connection: Int32?
    /// The transport's own name for the event, for logs.
    package var detail: String

    package init(kind: Kind, endpoint: String, connection: Int32? = nil, detail: String) {
        self.kind = kind
        self.endpoint = endpoint
        self.connection = connection
        self.detail = detail
    }

    /// True once the connection no longer carries traffic (closed, failed, refused).
    package var isDown: Bool { kind != .connected }
}
