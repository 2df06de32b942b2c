package import Logging
package import MeshClock
package import ZeroMQ

/// The mesh over libzmq: an ``EventLoop`` thread is the executor, its timers the timers, and
/// ``ZMQSocketActor``s the sockets. One per node (or client); several may share a loop.
///
/// With CURVE, the first server socket starts the ZAP handler (``ZAPAuthenticator``) that
/// checks each connecting key against the allow-list: without one, libzmq admits every
/// CURVE client.
package actor ZMQTransport: MeshTransport {
    /// The loop whose thread runs this transport, its sockets and the actors that use them.
    package nonisolated let loop: EventLoop
    package nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }

    private let logger: Logger
    private var authenticator: ZAPAuthenticator?
    private let ownsLoop: Bool

    /// A transport on `loop` (shared: ``shutdown()`` leaves it running); `logger` is for the
    /// security handler's refusals.
    package init(loop: EventLoop, logger: Logger) {
        self.loop = loop
        self.logger = logger
        ownsLoop = false
    }

    /// A transport on a loop thread of its own, `zmesh-NAME`, ended by ``shutdown()``.
    package init(name: String, logger: Logger) throws {
        loop = try EventLoop(name: "zmesh-\(name)")
        self.logger = logger
        ownsLoop = true
    }

    /// The loop as a task executor: a caller that prefers it runs beside the sockets.
    package nonisolated var taskExecutor: (any TaskExecutor)? { loop.taskExecutor }

    package nonisolated var isCurrent: Bool { loop.inLoop }

    @inline(__always)
    package nonisolated func execute(_ work: @escaping @Sendable () -> Void) { loop.execute(work) }

    @inline(__always)
    package nonisolated func now() -> MonotonicTime { .now() }

    package nonisolated func schedule(at deadline: MonotonicTime, _ action: @escaping () -> Void) -> LoopTimerID {
        loop.schedule(at: deadline, action)
    }

    package nonisolated func cancel(_ timer: LoopTimerID) { loop.cancelTimer(timer) }

    package func makeSocket(_ kind: SocketKind, options: SocketOptions) throws -> ZMQSocketActor {
        let type: ZMQSocketType = switch kind {
        case .router: .router
        case .dealer: .dealer
        case .publisher: .pub
        case .subscriber: .sub
        }
        let socket = try loop.makeSocket(type)
        try socket.set(Self.zmqOptions(options))
        var perEndpoint: (@Sendable (String) throws -> [ZMQSocketOption])?
        switch options.security {
        case .none: break
        case .curveServer(let curve):
            if authenticator == nil {
                let zap = try ZAPAuthenticator(loop: loop, trusted: curve.trusted, logger: logger)
                try zap.assumeIsolated { try $0.start() }
                authenticator = zap
            }
            try socket.set(curve.serverOptions)
        case .curveClient(let curve):
            perEndpoint = { endpoint in
                guard let keys = curve.clientOptions(for: endpoint) else {
                    throw SecurityError("no CURVE public key is known for \(endpoint)")
                }
                return keys
            }
        }
        let actor = try ZMQSocketActor(loop: loop, socket: socket)
        if let window = options.readCoalescing { actor.assumeIsolated { $0.setReadCoalescing(window) } }
        if let limit = options.sendCoalescing, limit > 0 { actor.assumeIsolated { $0.setSendCoalescing(limit: limit) } }
        if let perEndpoint { actor.assumeIsolated { $0.setConnectOptions(perEndpoint) } }
        return actor
    }

    package func close() {
        authenticator?.assumeIsolated { $0.close() }
        authenticator = nil
    }

    package nonisolated func shutdown() async {
        await close()
        if ownsLoop { await loop.shutdown() }
    }

    /// The libzmq options that say what `options` says.
    private static func zmqOptions(_ options: SocketOptions) -> [ZMQSocketOption] {
        var result: [ZMQSocketOption] = []
        if let hwm = options.sendHighWaterMark { result.append(.sendHighWaterMark(hwm)) }
        if let hwm = options.receiveHighWaterMark { result.append(.receiveHighWaterMark(hwm)) }
        if let bytes = options.maxMessageBytes { result.append(.maxMessageSize(Int64(bytes))) }
        if let interval = options.peerHeartbeat {
            let milliseconds = Int32(clamping: interval.millisecondsClamped)
            result.append(.heartbeatInterval(milliseconds: milliseconds))
            result.append(.heartbeatTimeout(milliseconds: milliseconds.multipliedReportingOverflow(by: 3).partialValue))
        }
        if let keepalive = options.tcpKeepalive {
            result.append(.tcpKeepalive(1))
            result.append(.tcpKeepaliveIdle(seconds: Int32(clamping: max(1, keepalive.idle.millisecondsClamped / 1000))))
            result.append(.tcpKeepaliveInterval(seconds: Int32(clamping: max(1, keepalive.interval.millisecondsClamped / 1000))))
            result.append(.tcpKeepaliveCount(max(1, keepalive.count)))
        }
        if let reconnect = options.reconnect {
            result.append(.reconnectInterval(milliseconds: Int32(clamping: reconnect.first.millisecondsClamped)))
            result.append(.reconnectIntervalMax(milliseconds: Int32(clamping: reconnect.longest.millisecondsClamped)))
        }
        if options.immediate { result.append(.immediate(true)) }
        if options.routerMandatory { result.append(.routerMandatory(true)) }
        if let linger = options.linger { result.append(.linger(milliseconds: Int32(clamping: linger.millisecondsClamped))) }
        if let id = options.routingID { result.append(.routingID(id)) }
        if let prefix = options.subscription { result.append(.subscribe(prefix)) }
        return result
    }
}

extension CurveSettings {
    /// Options for a socket that accepts CURVE connections.
    var serverOptions: [ZMQSocketOption] {
        [.curveServer(true), .curveSecretKey(identity.secretKey), .curvePublicKey(identity.publicKey), .zapDomain("zmesh")]
    }

    /// Options for a socket about to connect to `endpoint`; nil if no key is known for it.
    func clientOptions(for endpoint: String) -> [ZMQSocketOption]? {
        guard let server = serverKey(for: endpoint) else { return nil }
        return [.curveServerKey(server), .curvePublicKey(identity.publicKey), .curveSecretKey(identity.secretKey)]
    }
}
