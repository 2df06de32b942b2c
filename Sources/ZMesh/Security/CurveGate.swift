import Logging
import ZeroMQ

/// A node's door for peers: the ROUTER they connect to and, with CURVE on, the ZAP handler
/// that checks each connecting key against the allow-list and the watch that counts and logs
/// the peers refused. Service nodes, registries and brokers each keep one.
struct CurveGate {
    private var authenticator: ZAPAuthenticator?
    private let refusals = RefusalWatch()

    /// Peers refused at the CURVE handshake so far.
    var refused: UInt64 { refusals.refused }

    /// Binds a ROUTER at `endpoint` with `options`; `onFrames` gets what arrives, on the loop
    /// thread. With `curve`, the ZAP handler starts first (without one, libzmq admits every
    /// CURVE client), the socket takes the node's server keys, and refusals are watched.
    mutating func bindRouter(_ endpoint: String, on loop: EventLoop, options: [ZMQSocketOption], curve: CurveSettings?,
                             role: String, logger: Logger, onFrames: @escaping @Sendable (ZMQReceivedFrames) -> Void) throws -> ZMQSocketActor {
        if let curve, authenticator == nil {
            let zap = try ZAPAuthenticator(loop: loop, trusted: curve.trusted, logger: logger)
            try zap.assumeIsolated { try $0.start() }
            authenticator = zap
        }
        let socket = try loop.makeSocket(.router)
        try socket.set(options)
        if let curve { try socket.set(curve.serverOptions) }
        let actor = try ZMQSocketActor(loop: loop, socket: socket)
        if curve != nil { try refusals.watch(actor, role: role, logger: logger) }
        try actor.assumeIsolated { router in
            try router.onFrames(onFrames)
            try router.bind(endpoint)
        }
        return actor
    }

    /// Stops the ZAP handler.
    mutating func close() {
        authenticator?.assumeIsolated { $0.close() }
        authenticator = nil
    }
}
