import Logging
import ZeroMQ

/// Answers libzmq's ZAP requests (ZeroMQ RFC 27) for a node's context: a CURVE client is let
/// in only if its public key is on the allow-list, and its connection's `User-Id` becomes the
/// key's owner name (registries use it to refuse heartbeats from anyone but service nodes).
/// Each refusal is logged (once per key per 10 s); `RefusalWatch` counts them.
///
/// One per libzmq context, bound at `inproc://zeromq.zap.01` before any CURVE server socket of
/// that context binds: without a handler, libzmq admits every CURVE client.
actor ZAPAuthenticator {
    static let endpoint = "inproc://zeromq.zap.01"

    nonisolated let loop: EventLoop
    nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }

    private let socket: ZMQSocketActor
    private let trusted: [String: String]
    private let logger: Logger
    private var refusalLog = RateLimitedLog()

    /// Binds the handler on `loop`'s context. Loop thread only.
    init(loop: EventLoop, trusted: [String: String], logger: Logger) throws {
        self.loop = loop
        self.trusted = trusted
        self.logger = logger
        let raw = try loop.makeSocket(.router)
        socket = try ZMQSocketActor(loop: loop, socket: raw)
        try socket.assumeIsolated { router in
            do {
                try router.bind(Self.endpoint)
            } catch let error as ZMQError where error.code == 98 /* EADDRINUSE */ {
                throw SecurityError("another ZAP handler already serves this libzmq context: give each secured node its own event loop")
            }
        }
    }

    /// Starts answering. Loop thread only.
    func start() throws {
        try socket.assumeIsolated { router in
            try router.onMessage { [weak self] frames in self?.assumeIsolated { $0.answer(frames) } }
        }
    }

    /// `[routing id] [] [version] [request id] [domain] [address] [identity] [mechanism] [credentials...]`
    private func answer(_ frames: [[UInt8]]) {
        guard frames.count >= 8, frames[1].isEmpty else { return }
        let version = frames[2], requestID = frames[3], address = String(decoding: frames[5], as: UTF8.self)
        let mechanism = String(decoding: frames[7], as: UTF8.self)
        var status = "400", text = "not allowed", user = ""
        if mechanism == "CURVE", frames.count >= 9, let key = ZMQCurveKeyPair.z85(frames[8]) {
            if let owner = trusted[key] {
                status = "200"
                text = "OK"
                user = owner
            } else {
                if refusalLog.shouldLog(Array(key.utf8)) {
                    logger.warning("refused a peer: its CURVE key is not allowed", metadata: [
                        "zmesh.key": "\(key)", "zmesh.peer_address": "\(address)",
                    ])
                }
            }
        } else {
            if refusalLog.shouldLog(Array(mechanism.utf8)) {
                logger.warning("refused a peer: not a CURVE client", metadata: [
                    "zmesh.mechanism": "\(mechanism)", "zmesh.peer_address": "\(address)",
                ])
            }
        }
        let reply: [[UInt8]] = [frames[0], [], version, requestID, Array(status.utf8), Array(text.utf8), Array(user.utf8), []]
        _ = socket.assumeIsolated { try? $0.send(reply) }
    }

    func close() {
        socket.assumeIsolated { $0.close() }
    }
}
