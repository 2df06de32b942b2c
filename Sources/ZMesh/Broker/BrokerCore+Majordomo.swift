import MeshClock

/// The Majordomo workers' endpoint, and the frames the broker sends Majordomo workers and
/// clients, in each peer's dialect (RFC 18's MDP/0.2, RFC 7's MDP/0.1, majortomo's MDP/0.2:
/// ``MDP/Dialect``). A worker becomes an instance of the router's like any other, and an MDP
/// client's request a flight like any other, so native clients reach MDP workers, MDP clients
/// reach mesh services, and failover covers both. What workers send is handled in
/// `BrokerCore+MajordomoWorkers.swift`. See docs/INTEROP.md.
extension BrokerCore {
    // MARK: Workers endpoint

    /// Binds the workers' ROUTER, watches its connections, starts the heartbeat tick.
    func startWorkers(at endpoint: String) throws {
        var options = SocketOptions()
        options.routerMandatory = true
        options.sendHighWaterMark = 10_000
        options.receiveHighWaterMark = 10_000
        options.maxMessageBytes = configuration.maxMessageBytes
        if let curve = configuration.curve { options.security = .curveServer(curve) }
        let actor = try transport.assumeIsolated { try $0.makeSocket(.router, options: options) }
        try actor.assumeIsolated { router in
            try router.bind(endpoint)
            try router.onFrames { [weak self] frames in
                self?.assumeIsolated(passing: frames) { core, frames in core.fromWorker(frames) }
            }
            // A killed worker's connection closes at once: drop it then, not a heartbeat later.
            try router.onPeerEvent { [weak self] event in
                guard event.kind == .disconnected, let connection = event.connection else { return }
                self?.assumeIsolated { $0.workerConnectionLost(descriptor: connection) }
            }
        }
        workerSocket = actor
        workerTimer = transport.schedule(after: configuration.heartbeat.interval) { [weak self] in
            self?.assumeIsolated { $0.workerTick() }
        }
        logger.info("taking Majordomo workers", metadata: ["zmesh.workers": "\(endpoint)"])
    }

    /// DISCONNECT to every worker, each in its dialect; closes the workers' socket.
    func stopWorkers() {
        if let workerTimer { transport.cancel(workerTimer) }
        workerTimer = nil
        for worker in router.workerAddresses { sendWorker(worker.routingID, dialect: worker.dialect, .disconnect) }
        if !announcedServices.isEmpty { announce(router.workerSummary(), services: [], leaving: true) }
        workerSocket?.assumeIsolated { $0.close() }
        workerSocket = nil
    }

    /// Every interval: the router heartbeats and expires workers; the registries hear of them.
    func workerTick() {
        var output = Output(core: self)
        router.tickWorkers(now: transport.now(), output: &output)
        carryOut(output)
        announceWorkersIfChanged(router.workerSummary(), force: true)
        workerTimer = transport.schedule(after: configuration.heartbeat.interval) { [weak self] in self?.assumeIsolated { $0.workerTick() } }
    }

    // MARK: Frames to workers and MDP clients

    /// A request to a worker, in its dialect: `[worker] [MDPW02] [REQUEST] [address] [] [body...]`
    /// (MDP/0.1 and majortomo: an empty frame first; MDP/0.1: `MDPW01`), the address being the
    /// request id. False if it could not be sent.
    func sendToWorker(_ routingID: [UInt8], dialect: MDP.Dialect, request id: RequestID, body: [[UInt8]]) -> Bool {
        // RFC 7 and RFC 18: a REQUEST carries a body: an empty one travels as one empty frame.
        let rest = [MDP.address(of: id), []] + (body.isEmpty ? [[]] : body)
        let frames = [routingID] + MDP.workerMessage(.request, rest, dialect: dialect)
        let result = workerSocket?.assumeIsolated { $0.transmit(frames) }
        return result?.accepted ?? false
    }

    /// A command with no body (HEARTBEAT, DISCONNECT) to a worker, in its dialect.
    func sendWorker(_ routingID: [UInt8], dialect: MDP.Dialect, _ command: MDP.WorkerCommand) {
        _ = workerSocket?.assumeIsolated { $0.transmit([routingID] + MDP.workerMessage(command, dialect: dialect)) }
    }

    /// The frames after the routing id of a PARTIAL or FINAL (MDP/0.1: REPLY) to an MDP client,
    /// in its dialect. A failure carries a status frame first (MDP has no error command):
    /// HTTP-like codes, as MMI's "200"/"404"/"501".
    static func majordomoClientMessage(_ command: MDP.ClientCommand, caller: MDP.Caller, status: UInt16?,
                                       body: [[UInt8]]) -> [[UInt8]] {
        var frames = body
        if let status { frames.insert(Array(String(majordomoStatus(status)).utf8), at: 0) }
        return MDP.clientMessage(command, service: caller.service, body: frames, dialect: caller.dialect)
    }

    /// The HTTP-like code an MDP client gets for a mesh status.
    static func majordomoStatus(_ status: UInt16) -> Int {
        if status >= StatusCode.firstApplicationCode { return Int(status) }
        switch StatusCode(rawValue: status) {
        case .deadlineExceeded: return 504
        case .unavailable, .overloaded: return 503
        case .cancelled: return 499
        case .notFound: return 404
        case .badRequest, .protocolError: return 400
        case .tooLarge: return 413
        case .forbidden: return 403
        case .internalError, .none: return 500
        }
    }
}
