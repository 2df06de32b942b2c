import Logging

/// Counts and logs the peers a node's secured sockets refuse at the handshake, whatever the
/// reason: a key not on the allow-list, or a peer that does not speak CURVE at all. Fed with
/// the sockets' ``PeerEvent``s; logs once per endpoint per 10 seconds.
struct RefusalLog {
    /// Peers refused so far.
    private(set) var refused: UInt64 = 0
    private var log = RateLimitedLog()

    /// Counts `event` if it is a refusal; true if it was.
    @discardableResult
    mutating func record(_ event: PeerEvent, role: String, logger: Logger) -> Bool {
        guard case .refused(let keyNotAllowed) = event.kind else { return false }
        refused += 1
        if log.shouldLog(Array(event.endpoint.utf8)) {
            let reason = keyNotAllowed ? "its key is not allowed" : "it does not speak CURVE"
            logger.warning("refused a peer at the handshake: \(reason)", metadata: [
                "zmesh.role": "\(role)", "zmesh.endpoint": "\(event.endpoint)", "zmesh.event": "\(event.detail)",
            ])
        }
        return true
    }
}
