import Logging
import ZeroMQ

/// Counts and logs the peers a CURVE server socket refuses at the handshake, whatever the
/// reason: a key not on the allow-list (the ZAP handler says 400; it logs which key), or a
/// peer that does not speak CURVE at all (libzmq refuses it before asking ZAP).
final class RefusalWatch: Sendable {
    private let counter = RefusalCounter()

    /// Peers refused so far.
    var refused: UInt64 { counter.value }

    /// Starts watching `socket` (a CURVE server). Loop thread only.
    func watch(_ socket: ZMQSocketActor, role: String, logger: Logger) throws {
        let counter = self.counter
        var log = RateLimitedLog()
        try socket.assumeIsolated { socket in
            try socket.monitor([.handshakeFailedAuth, .handshakeFailedProtocol, .handshakeFailedNoDetail]) { event in
                counter.add()
                if log.shouldLog(Array(event.endpoint.utf8)) {
                    let reason = event.event == .handshakeFailedAuth ? "its key is not allowed" : "it does not speak CURVE"
                    logger.warning("refused a peer at the handshake: \(reason)", metadata: [
                        "zmesh.role": "\(role)", "zmesh.endpoint": "\(event.endpoint)", "zmesh.code": "\(event.value)",
                    ])
                }
            }
        }
    }
}

import Synchronization

/// A counter the loop bumps and stats read.
final class RefusalCounter: Sendable {
    private let count = Atomic<UInt64>(0)
    func add() { count.add(1, ordering: .relaxed) }
    var value: UInt64 { count.load(ordering: .relaxed) }
}
