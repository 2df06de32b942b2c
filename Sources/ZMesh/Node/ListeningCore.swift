import Logging

/// A node that peers connect to: service nodes, registries and brokers each bind a router,
/// and with CURVE count and log the peers refused at the handshake.
protocol ListeningCore: NodeCore {
    /// The node's kind in logs: `service`, `registry`, `broker`.
    static var role: String { get }
    /// Where the node logs.
    var logger: Logger { get }
    /// Peers its secured sockets refused.
    var refusals: RefusalLog { get set }
}

extension ListeningCore {
    /// A router bound at `endpoint`, for peers to connect to: what arrives goes to `receive`,
    /// on the executor; with CURVE (`options.security` a server), peers refused at the
    /// handshake are counted in ``refusals`` and logged. Returns the socket and the endpoint
    /// bound, a wildcard port resolved.
    func listen(at endpoint: String, options: SocketOptions,
                receive: @escaping @Sendable (isolated Self, Transport.Socket.Received) -> Void) throws -> (Transport.Socket, String) {
        let socket = try transport.assumeIsolated { try $0.makeSocket(.router, options: options) }
        var secured = false
        if case .curveServer = options.security { secured = true }
        let bound = try socket.assumeIsolated { router in
            if secured {
                try router.onPeerEvent { [weak self] event in
                    _ = self?.assumeIsolated { $0.refusals.record(event, role: Self.role, logger: $0.logger) }
                }
            }
            let receiver = FramesReceiver(receive: receive)
            try router.onFrames { [weak self] frames in
                self?.assumeIsolated(passing: (frames, receiver)) { core, received in received.1.receive(core, received.0) }
            }
            try router.bind(endpoint)
            return try router.lastEndpoint()
        }
        return (socket, bound)
    }
}

/// A listener's handler of what arrives. Handed through `assumeIsolated(passing:)` in a
/// struct, not bare: a bare closure in that generic value is wrapped in a thunk allocated on
/// every message (measured).
struct FramesReceiver<Core: ListeningCore>: Sendable {
    let receive: @Sendable (isolated Core, Core.Transport.Socket.Received) -> Void
}
