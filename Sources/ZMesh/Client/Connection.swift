/// Identifies a client connection.
struct ConnectionID: Hashable, Sendable {
    let raw: UInt32
}

/// One connection to one endpoint (a service instance, a registry, or a broker), as the call
/// table sees it; `link` is the shell's handle on it (a DEALER socket actor in a client).
/// Loop thread only.
final class Connection<Link> {
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
    let link: Link
    var state: State = .connecting
    /// Calls sent here and not yet answered.
    var outstanding = 0
    /// Why the peer refused us, if it did (a CURVE handshake failure, say).
    var refusal: String?
    /// The registry's id of the instance last announced at this endpoint (instances only).
    var instance: String?

    init(id: ConnectionID, endpoint: String, link: Link) {
        self.id = id
        self.endpoint = endpoint
        self.link = link
    }
}
