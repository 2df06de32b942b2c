import ZeroMQ

/// Identifies a client connection.
struct ConnectionID: Hashable, Sendable {
    let raw: UInt32
}

/// One DEALER socket to one endpoint (a service instance, a registry, or a broker). Loop thread only.
final class Connection {
    enum State: Equatable {
        /// Connecting; no handshake yet.
        case connecting
        /// Handshake done: traffic flows.
        case up
        /// Lost; libzmq reconnects in the background.
        case down
    }

    let id: ConnectionID
    let endpoint: String
    let socket: ZMQSocketActor
    var state: State = .connecting
    /// Calls sent here and not yet answered.
    var outstanding = 0
    /// Why the peer refused us, if it did (a CURVE handshake failure, say).
    var refusal: String?
    /// The registry's id of the instance last announced at this endpoint (instances only).
    var instance: String?

    init(id: ConnectionID, endpoint: String, socket: ZMQSocketActor) {
        self.id = id
        self.endpoint = endpoint
        self.socket = socket
    }
}
