import MeshClock

/// Majordomo (MDP/0.2, ZeroMQ RFC 18) workers on their own endpoint, and the MDP frames the
/// broker sends MDP clients. A worker becomes an instance of the router's like any other, and
/// an MDP client's request a flight like any other, so native clients reach MDP workers, MDP
/// clients reach mesh services, and failover covers both. See docs/INTEROP.md.
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

    /// DISCONNECT to every worker; closes the workers' socket.
    func stopWorkers() {
        if let workerTimer { transport.cancel(workerTimer) }
        workerTimer = nil
        for routingID in router.workerRoutingIDs { sendWorker(routingID, .disconnect) }
        if !announcedServices.isEmpty { announce(router.workerSummary(), services: [], leaving: true) }
        workerSocket?.assumeIsolated { $0.close() }
        workerSocket = nil
    }

    // MARK: From workers

    /// `[worker] [MDPW02] [command] ...`. Invalid messages are dropped and their peer treated
    /// as invalid; valid but unexpected commands get DISCONNECT (RFC 18).
    private func fromWorker(_ frames: Transport.Socket.Received) {
        guard frames.frameCount >= 3, frames.withFrameBytes(1, { $0.elementsEqual(MDP.workerProtocol) }), frames.frameSize(2) == 1 else {
            invalidWorkerMessage(frames, reason: .badSignature)
            return
        }
        let routingID = frames.frameArray(0)
        guard let command = MDP.WorkerCommand(rawValue: frames.withFrameBytes(2) { $0[0] }) else {
            invalidWorkerMessage(frames, reason: .unknownCommand)
            return
        }
        let now = transport.now()
        let known = router.worker(routingID: routingID)
        if let known { router.heard(fromWorker: known, now: now) }   // any command acts as a heartbeat
        var output = Output(core: self)
        defer { carryOut(output) }
        switch command {
        case .ready:
            guard frames.frameCount == 4, let name = MDP.serviceName(frames.frameArray(3)) else {
                invalidWorkerMessage(frames, reason: .badName)
                return
            }
            // A second READY, or a worker claiming the MMI namespace: unexpected.
            guard known == nil, !name.hasPrefix(MDP.managementPrefix) else {
                disconnectWorker(routingID, id: known, why: known == nil ? "it tried to register \(name) (MMI namespace)" : "it sent READY twice")
                return
            }
            if let refusal = workerRefusal(service: name) {
                refuseWorker(routingID, why: refusal)
                return
            }
            router.registerWorker(routingID, service: name, descriptor: frames.connection(frame: 1), now: now, output: &output)
        case .heartbeat:
            guard frames.frameCount == 3 else { return invalidWorkerMessage(frames, reason: .tooManyFrames) }
            if known == nil { disconnectWorker(routingID, id: nil, why: "HEARTBEAT before READY") }
        case .disconnect:
            guard frames.frameCount == 3 else { return invalidWorkerMessage(frames, reason: .tooManyFrames) }
            // No further commands to it (RFC 18).
            if let known { router.removeWorker(known, reason: "the worker said DISCONNECT", now: now, output: &output) }
        case .partial, .final:
            guard frames.frameCount >= 5, frames.frameSize(4) == 0 else {
                invalidWorkerMessage(frames, reason: .missingDelimiter)
                return
            }
            // The answer to a request its caller cancelled meanwhile: dropped, not a violation.
            if let known, let address = MDP.requestID(fromAddress: frames.frameArray(3)),
               router.abandonedAnswer(address, from: known, final: command == .final, now: now, output: &output) {
                return
            }
            // The client address is opaque to RFC 18: one this broker never gave out is a valid
            // reply to a request the worker does not hold, so DISCONNECT, not "invalid".
            guard let known, let address = MDP.requestID(fromAddress: frames.frameArray(3)),
                  let flight = router.flight(address), flight.instance == known else {
                // A reply for no request it holds: valid but unexpected.
                disconnectWorker(routingID, id: known, why: "\(command == .final ? "FINAL" : "PARTIAL") for a request it does not hold")
                return
            }
            let body = (5..<frames.frameCount).map { frames.frameArray($0) }
            if command == .partial {
                router.partialAnswer(body, of: address, flight, relaysToBrokers: true, output: &output)
            } else {
                router.workerFinal(address, flight, worker: known, body: body, now: now, output: &output)
            }
        case .request:
            disconnectWorker(routingID, id: known, why: "workers do not send REQUEST")
        }
    }

    /// Drops an invalid message; a registered worker that sent it is forgotten (RFC 18).
    private func invalidWorkerMessage(_ frames: Transport.Socket.Received, reason: MalformedReason) {
        let peer = frames.frameCount > 0 ? frames.frameArray(0) : []
        drop(reason, peer: peer)
        if let id = router.worker(routingID: peer) {
            // Treat that peer as invalid (RFC 18): no more work for it.
            var output = Output(core: self)
            router.removeWorker(id, reason: "it sent an invalid message", now: transport.now(), output: &output)
            carryOut(output)
        }
    }

    /// Why a new worker for `name` cannot register, if it cannot: workers and their services are
    /// chosen by peers, so both are bounded.
    private func workerRefusal(service name: String) -> String? {
        if router.workerCount >= configuration.maxWorkers {
            return "the broker has \(configuration.maxWorkers) workers, its limit"
        }
        let service = ServiceHandlers.serviceName(of: name)
        let services = router.workerSummary().services
        if !services.contains(service), services.count >= Announcement.maxServices {
            return "the broker's workers serve \(services.count) services, the most it announces"
        }
        return nil
    }

    /// DISCONNECT for a READY the broker cannot take (a limit, not a protocol error).
    private func refuseWorker(_ routingID: [UInt8], why: String) {
        router.stats.workersRefused += 1
        if malformedLog.shouldLog(Array("worker-refused".utf8)) {
            logger.warning("refused a Majordomo worker", metadata: ["zmesh.worker": "\(routingID.hexString)", "zmesh.reason": "\(why)"])
        }
        sendWorker(routingID, .disconnect)
    }

    /// Sends DISCONNECT and forgets the worker (its request, if any, goes to another).
    private func disconnectWorker(_ routingID: [UInt8], id: String?, why: String) {
        drops.record(.unexpectedCommand)
        if malformedLog.shouldLog(routingID) {
            logger.warning("disconnecting a Majordomo worker", metadata: ["zmesh.worker": "\(routingID.hexString)", "zmesh.reason": "\(why)"])
        }
        sendWorker(routingID, .disconnect)
        if let id { forgetWorker(id, reason: why) }
    }

    /// The workers' socket saw a connection close: the worker on it is forgotten at once.
    private func workerConnectionLost(descriptor: Int32) {
        guard let id = router.worker(descriptor: descriptor) else { return }
        // What the worker sent before it went (its FINAL) counts first.
        workerSocket?.assumeIsolated { $0.receivePending() }
        guard router.worker(descriptor: descriptor) == id else { return }
        logger.warning("lost a Majordomo worker's connection", metadata: ["zmesh.worker": "\(id)"])
        forgetWorker(id, reason: "its connection closed")
    }

    /// Removes a worker from the router, then tells the registries if its services changed.
    private func forgetWorker(_ id: String, reason: String) {
        var output = Output(core: self)
        router.removeWorker(id, reason: reason, now: transport.now(), output: &output)
        carryOut(output)
        announceWorkersIfChanged(router.workerSummary())
    }

    /// Every interval: the router heartbeats and expires workers; the registries hear of them.
    private func workerTick() {
        var output = Output(core: self)
        router.tickWorkers(now: transport.now(), output: &output)
        carryOut(output)
        announceWorkersIfChanged(router.workerSummary(), force: true)
        workerTimer = transport.schedule(after: configuration.heartbeat.interval) { [weak self] in self?.assumeIsolated { $0.workerTick() } }
    }

    // MARK: Frames to workers and MDP clients

    /// A request to a worker: `[worker] [MDPW02] [REQUEST] [address] [] [body...]`, the address
    /// being the request id. False if it could not be sent.
    func sendToWorker(_ routingID: [UInt8], request id: RequestID, body: [[UInt8]]) -> Bool {
        // RFC 18: a REQUEST has 5 or more frames: an empty body travels as one empty frame.
        let frames = [routingID] + MDP.workerMessage(.request, [MDP.address(of: id), []] + (body.isEmpty ? [[]] : body))
        let result = workerSocket?.assumeIsolated { $0.transmit(frames) }
        return result?.accepted ?? false
    }

    /// A command with no body (HEARTBEAT, DISCONNECT) to a worker.
    func sendWorker(_ routingID: [UInt8], _ command: MDP.WorkerCommand) {
        _ = workerSocket?.assumeIsolated { $0.transmit([routingID] + MDP.workerMessage(command)) }
    }

    /// The frames after the routing id of an MDP PARTIAL or FINAL. A failure carries a status
    /// frame first (MDP has no error command): HTTP-like codes, as MMI's "200"/"404"/"501".
    static func majordomoClientMessage(_ command: MDP.ClientCommand, service: String, status: UInt16?,
                                       body: [[UInt8]]) -> [[UInt8]] {
        var frames = body
        if let status { frames.insert(Array(String(majordomoStatus(status)).utf8), at: 0) }
        return MDP.clientMessage(command, service: service, body: frames.isEmpty ? [[]] : frames)
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
