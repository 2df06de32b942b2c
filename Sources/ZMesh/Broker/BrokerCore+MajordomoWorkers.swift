import MeshClock

/// What Majordomo workers send, in any dialect (``MDP/Dialect``): READY, HEARTBEAT,
/// DISCONNECT, PARTIAL and FINAL (MDP/0.1: REPLY). Invalid messages are dropped and counted,
/// and a registered worker that sends one is forgotten; valid but unexpected commands get
/// DISCONNECT (RFC 7, RFC 18), in the dialect the peer spoke.
extension BrokerCore {
    /// A message on the workers' endpoint: `[worker] [MDPW02] [command] ...`, or with an empty
    /// frame first and `MDPW01` (MDP/0.1) or `MDPW02` (majortomo).
    func fromWorker(_ frames: Transport.Socket.Received) {
        let message: MDP.WorkerMessage
        switch MDP.workerMessage(frames) {
        case .success(let decoded): message = decoded
        case .failure(let reason): return invalidWorkerMessage(frames, reason: reason)
        }
        let routingID = frames.frameArray(0)
        let known = router.worker(routingID: routingID)
        if let known {
            // A worker speaks the dialect it registered in; a message in another is invalid.
            guard router.workerDialect(known) == message.dialect else { return invalidWorkerMessage(frames, reason: .badSignature) }
            router.heard(fromWorker: known, now: transport.now())   // any command acts as a heartbeat
        }
        let dialect = message.dialect
        switch message.command {
        case .ready:
            workerReady(frames, service: message.rest, dialect: dialect, known: known)
        case .heartbeat:
            guard frames.frameCount == message.rest else { return invalidWorkerMessage(frames, reason: .tooManyFrames) }
            if known == nil { disconnectWorker(routingID, dialect: dialect, id: nil, why: "HEARTBEAT before READY") }
        case .disconnect:
            guard frames.frameCount == message.rest else { return invalidWorkerMessage(frames, reason: .tooManyFrames) }
            // No further commands to it (RFC 7, RFC 18).
            if let known { forgetWorker(known, reason: "the worker said DISCONNECT") }
        case .partial, .final:
            workerAnswer(frames, message, known: known)
        case .request:
            disconnectWorker(routingID, dialect: dialect, id: known, why: "workers do not send REQUEST")
        }
    }

    /// READY `[service]`: registers the worker, unless it is registered already, names an MMI
    /// service, or a limit is reached.
    private func workerReady(_ frames: Transport.Socket.Received, service index: Int, dialect: MDP.Dialect, known: String?) {
        let routingID = frames.frameArray(0)
        guard frames.frameCount == index + 1, frames.frameSize(index) <= 255, let name = MDP.serviceName(frames.frameArray(index)) else {
            return invalidWorkerMessage(frames, reason: .badName)
        }
        // A second READY, or a worker claiming the MMI namespace: unexpected.
        guard known == nil, !name.hasPrefix(MDP.managementPrefix) else {
            let why = known == nil ? "it tried to register \(name) (MMI namespace)" : "it sent READY twice"
            return disconnectWorker(routingID, dialect: dialect, id: known, why: why)
        }
        if let refusal = workerRefusal(service: name) { return refuseWorker(routingID, dialect: dialect, why: refusal) }
        var output = Output(core: self)
        // The connection it came on, from the protocol frame (`index - 2`; never an empty one).
        router.registerWorker(routingID, service: name, dialect: dialect, descriptor: frames.connection(frame: index - 2),
                              now: transport.now(), output: &output)
        carryOut(output)
    }

    /// PARTIAL or FINAL (MDP/0.1: REPLY) `[address] [] [body...]`: passed on to the request's
    /// client. One for a request the worker does not hold gets DISCONNECT.
    private func workerAnswer(_ frames: Transport.Socket.Received, _ message: MDP.WorkerMessage, known: String?) {
        let at = message.rest
        guard frames.frameCount >= at + 2, frames.frameSize(at + 1) == 0 else {
            return invalidWorkerMessage(frames, reason: .missingDelimiter)
        }
        let final = message.command == .final
        let address = MDP.requestID(fromAddress: frames.frameArray(at))
        let now = transport.now()
        var output = Output(core: self)
        defer { carryOut(output) }
        // The answer to a request its caller cancelled meanwhile: dropped, not a violation.
        if let known, let address, router.abandonedAnswer(address, from: known, final: final, now: now, output: &output) {
            return
        }
        // The client address is opaque to the RFCs: one this broker never gave out is a valid
        // reply to a request the worker does not hold, so DISCONNECT, not "invalid".
        guard let known, let address, let flight = router.flight(address), flight.instance == known else {
            let name = final ? (message.dialect == .rfc7 ? "REPLY" : "FINAL") : "PARTIAL"
            return disconnectWorker(frames.frameArray(0), dialect: message.dialect, id: known,
                                    why: "\(name) for a request it does not hold")
        }
        let body = ((at + 2)..<frames.frameCount).map { frames.frameArray($0) }
        if final {
            router.workerFinal(address, flight, worker: known, body: body, now: now, output: &output)
        } else {
            router.partialAnswer(body, of: address, flight, relaysToBrokers: true, output: &output)
        }
    }

    /// Drops an invalid message; a registered worker that sent it is forgotten (RFC 7, RFC 18).
    private func invalidWorkerMessage(_ frames: Transport.Socket.Received, reason: MalformedReason) {
        let peer = frames.frameCount > 0 ? frames.frameArray(0) : []
        drop(reason, peer: peer)
        // Treat that peer as invalid: no more work for it.
        if let id = router.worker(routingID: peer) { forgetWorker(id, reason: "it sent an invalid message") }
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
    private func refuseWorker(_ routingID: [UInt8], dialect: MDP.Dialect, why: String) {
        router.stats.workersRefused += 1
        if malformedLog.shouldLog(Array("worker-refused".utf8)) {
            logger.warning("refused a Majordomo worker", metadata: ["zmesh.worker": "\(routingID.hexString)", "zmesh.reason": "\(why)"])
        }
        sendWorker(routingID, dialect: dialect, .disconnect)
    }

    /// Sends DISCONNECT and forgets the worker (its request, if any, goes to another).
    private func disconnectWorker(_ routingID: [UInt8], dialect: MDP.Dialect, id: String?, why: String) {
        drops.record(.unexpectedCommand)
        if malformedLog.shouldLog(routingID) {
            logger.warning("disconnecting a Majordomo worker", metadata: [
                "zmesh.worker": "\(routingID.hexString)", "zmesh.reason": "\(why)", "zmesh.dialect": "\(dialect)",
            ])
        }
        sendWorker(routingID, dialect: dialect, .disconnect)
        if let id { forgetWorker(id, reason: why) }
    }

    /// The workers' socket saw a connection close: the worker on it is forgotten at once.
    func workerConnectionLost(descriptor: Int32) {
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
}
