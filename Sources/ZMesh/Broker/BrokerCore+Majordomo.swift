import Foundation
import ZeroMQ

/// Majordomo (MDP/0.2, ZeroMQ RFC 18) in the broker: MDP clients on the front end, MDP workers
/// on their own endpoint, MMI (RFC 8) for both. An MDP request becomes a flight like any other,
/// and an MDP worker an instance like any other, so native clients reach MDP workers, MDP
/// clients reach mesh services, and failover covers both. See docs/INTEROP.md.
extension BrokerCore {
    // MARK: Workers endpoint

    func startWorkers(at endpoint: String) throws {
        let socket = try loop.makeSocket(.router)
        try socket.set([.routerMandatory(true), .sendHighWaterMark(10_000), .receiveHighWaterMark(10_000),
                        .maxMessageSize(Int64(configuration.maxMessageBytes))])
        if let curve = configuration.curve { try socket.set(curve.serverOptions) }
        let actor = try ZMQSocketActor(loop: loop, socket: socket)
        try actor.assumeIsolated { router in
            try router.bind(endpoint)
            try router.onFrames { [weak self] frames in
                self?.assumeIsolated(passing: frames) { core, frames in core.fromWorker(frames) }
            }
            // A killed worker's connection closes at once: drop it then, not a heartbeat later.
            try router.monitor([.disconnected]) { [weak self] event in
                self?.assumeIsolated { $0.workerConnectionLost(descriptor: Int32(bitPattern: event.value)) }
            }
        }
        workerSocket = actor
        workerTimer = loop.schedule(after: configuration.heartbeat.interval) { [weak self] in
            self?.assumeIsolated { $0.workerTick() }
        }
        logger.info("taking Majordomo workers", metadata: ["zmesh.workers": "\(endpoint)"])
    }

    func stopWorkers() {
        if let workerTimer { loop.cancelTimer(workerTimer) }
        workerTimer = nil
        for (_, instance) in instances where instance.kind == .worker {
            sendWorker(instance.routingID, .disconnect)
        }
        if !announcedServices.isEmpty { announce(services: [], leaving: true) }
        workerSocket?.assumeIsolated { $0.close() }
        workerSocket = nil
    }

    // MARK: From workers

    /// `[worker] [MDPW02] [command] ...`. Invalid messages are dropped and their peer treated
    /// as invalid; valid but unexpected commands get DISCONNECT (RFC 18).
    private func fromWorker(_ frames: ZMQReceivedFrames) {
        guard frames.count >= 3, frames.withFrame(1, { $0.elementsEqual(MDP.workerProtocol) }), frames.size(2) == 1 else {
            invalidWorkerMessage(frames, reason: .badSignature)
            return
        }
        let routingID = frames.bytes(0)
        guard let command = MDP.WorkerCommand(rawValue: frames.withFrame(2) { $0[0] }) else {
            invalidWorkerMessage(frames, reason: .unknownCommand)
            return
        }
        let known = workerByRoutingID[routingID]
        if let known { instances[known]?.lastHeard = .now() }   // any command acts as a heartbeat
        switch command {
        case .ready:
            guard frames.count == 4, let name = MDP.serviceName(frames.bytes(3)) else {
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
            registerWorker(routingID, service: name, descriptor: frames.sourceDescriptor(frame: 1))
        case .heartbeat:
            guard frames.count == 3 else { return invalidWorkerMessage(frames, reason: .tooManyFrames) }
            if known == nil { disconnectWorker(routingID, id: nil, why: "HEARTBEAT before READY") }
        case .disconnect:
            guard frames.count == 3 else { return invalidWorkerMessage(frames, reason: .tooManyFrames) }
            // No further commands to it (RFC 18).
            if let known { remove(known, reason: "the worker said DISCONNECT") ; rebuildServiceIndex() }
        case .partial, .final:
            guard frames.count >= 5, frames.size(4) == 0 else {
                invalidWorkerMessage(frames, reason: .missingDelimiter)
                return
            }
            // The client address is opaque to RFC 18: one this broker never gave out is a valid
            // reply to a request the worker does not hold, so DISCONNECT, not "invalid".
            guard let known, let address = MDP.requestID(fromAddress: frames.bytes(3)),
                  let flight = flights[address], flight.instance == known else {
                // A reply for no request it holds: valid but unexpected.
                disconnectWorker(routingID, id: known, why: "\(command == .final ? "FINAL" : "PARTIAL") for a request it does not hold")
                return
            }
            let body = (5..<frames.count).map { frames.bytes($0) }
            if command == .partial {
                workerPartial(address, flight, body: body)
            } else {
                workerFinal(address, flight, worker: known, body: body)
            }
        case .request:
            disconnectWorker(routingID, id: known, why: "workers do not send REQUEST")
        }
    }

    private func invalidWorkerMessage(_ frames: ZMQReceivedFrames, reason: MalformedReason) {
        let peer = frames.count > 0 ? frames.bytes(0) : []
        drop(reason, peer: peer)
        if let id = workerByRoutingID[peer] {
            // Treat that peer as invalid (RFC 18): no more work for it.
            remove(id, reason: "it sent an invalid message")
            rebuildServiceIndex()
        }
    }

    private func registerWorker(_ routingID: [UInt8], service name: String, descriptor: Int32?) {
        let id = "mdp-\(configuration.name)-\(routingID.hexString)"
        var instance = Instance(id: id, routingID: routingID, endpoint: configuration.workers ?? "", services: [ServiceHandlers.serviceName(of: name)],
                                capacity: 1, kind: .worker)
        instance.ready = true
        instance.descriptor = descriptor
        instances[id] = instance
        workerByRoutingID[routingID] = id
        if let descriptor { workerByDescriptor[descriptor] = id }
        rebuildServiceIndex()
        logger.info("Majordomo worker ready", metadata: ["zmesh.worker": "\(id)", "zmesh.service": "\(name)"])
        announceWorkersIfChanged()
        dispatchQueued(for: instance.services)
    }

    /// Why a new worker for `name` cannot register, if it cannot: workers and their services are
    /// chosen by peers, so both are bounded.
    private func workerRefusal(service name: String) -> String? {
        if workerByRoutingID.count >= configuration.maxWorkers {
            return "the broker has \(configuration.maxWorkers) workers, its limit"
        }
        let service = ServiceHandlers.serviceName(of: name)
        let services = Set(instances.values.lazy.filter { $0.kind == .worker }.flatMap(\.services))
        if !services.contains(service), services.count >= Announcement.maxServices {
            return "the broker's workers serve \(services.count) services, the most it announces"
        }
        return nil
    }

    /// DISCONNECT for a READY the broker cannot take (a limit, not a protocol error).
    private func refuseWorker(_ routingID: [UInt8], why: String) {
        stats.workersRefused += 1
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
        if let id {
            remove(id, reason: why)
            rebuildServiceIndex()
            announceWorkersIfChanged()
        }
    }

    /// A worker that held a request well past its deadline: DISCONNECT, so it starts again
    /// with a new READY, and no more work for this connection.
    func dropFrozenWorker(_ id: String) {
        guard let instance = instances[id], instance.kind == .worker else { return }
        logger.warning("Majordomo worker did not answer by the deadline: disconnecting it", metadata: ["zmesh.worker": "\(id)"])
        sendWorker(instance.routingID, .disconnect)
        remove(id, reason: "it held a request past its deadline")
        rebuildServiceIndex()
        announceWorkersIfChanged()
    }

    private func workerConnectionLost(descriptor: Int32) {
        guard let id = workerByDescriptor[descriptor] else { return }
        logger.warning("lost a Majordomo worker's connection", metadata: ["zmesh.worker": "\(id)"])
        remove(id, reason: "its connection closed")
        rebuildServiceIndex()
        announceWorkersIfChanged()
    }

    private func workerPartial(_ key: RequestID, _ flight: Flight, body: [[UInt8]]) {
        if let service = flight.majordomo, flight.route.count == 1 {
            // Straight to an MDP client: it takes PARTIALs as they come.
            sendClient(flight.route, MDP.clientMessage(.partial, service: service, body: body))
        } else if flight.header.flags.contains(.acceptsPartials) {
            // Another broker relaying an MDP client's request: a partial REPLY it passes on.
            var header = Header(command: .reply, requestID: flight.header.requestID)
            header.attempt = flight.header.attempt
            header.flags = [.partial]
            let frames = flight.route + [[], header.encoded()] + (body.isEmpty ? [[]] : body)
            _ = frontend?.assumeIsolated { try? $0.send(frames) }
        } else {
            // A native client (or another broker) gets one reply: keep them for the FINAL.
            keepPartials(body, of: key, flight)
        }
    }

    private func workerFinal(_ key: RequestID, _ flight: Flight, worker: String, body: [[UInt8]]) {
        instances[worker]?.outstanding -= 1
        forget(key)
        stats.replies += 1
        let whole = flight.partials + body
        if let service = flight.majordomo, flight.route.count == 1 {
            sendClient(flight.route, MDP.clientMessage(.final, service: service, body: body))
        } else {
            var header = Header(command: .reply, requestID: key)
            header.attempt = flight.header.attempt
            let frames = flight.route + [[], header.encoded()] + (whole.isEmpty ? [[]] : whole)
            _ = frontend?.assumeIsolated { try? $0.send(frames) }
        }
        if let instance = instances[worker] { dispatchQueued(for: instance.services) }
        resumeDrainWaitersIfIdle()
    }

    /// Dispatches a flight to a worker: `[worker] [MDPW02] [REQUEST] [address] [] [body...]`.
    func sendToWorker(_ instance: Instance, header: Header, body: [[UInt8]]) -> Bool {
        // RFC 18: a REQUEST has 5 or more frames: an empty body travels as one empty frame.
        let frames = [instance.routingID] + MDP.workerMessage(.request, [MDP.address(of: header.requestID), []] + (body.isEmpty ? [[]] : body))
        let result = workerSocket?.assumeIsolated { try? $0.send(frames) }
        guard result == .sent || result == .queued else { return false }
        instances[instance.id]?.lastSent = .now()
        return true
    }

    private func sendWorker(_ routingID: [UInt8], _ command: MDP.WorkerCommand) {
        _ = workerSocket?.assumeIsolated { try? $0.send([routingID] + MDP.workerMessage(command)) }
    }

    /// Every interval: HEARTBEAT to workers the broker has not sent anything lately, and
    /// expire workers silent for liveness x interval (RFC 18 heartbeating).
    private func workerTick() {
        let now = MonotonicTime.now()
        let interval = configuration.heartbeat.interval
        var expired: [String] = []
        for (id, instance) in instances where instance.kind == .worker {
            if instance.lastHeard.advanced(by: configuration.heartbeat.expiry) <= now {
                expired.append(id)
            } else if instance.lastSent.advanced(by: interval) <= now {
                sendWorker(instance.routingID, .heartbeat)
                instances[id]?.lastSent = now
            }
        }
        for id in expired.sorted() {
            logger.warning("Majordomo worker silent: expired", metadata: ["zmesh.worker": "\(id)"])
            if let routingID = instances[id]?.routingID { sendWorker(routingID, .disconnect) }
            remove(id, reason: "no heartbeat for \(configuration.heartbeat.liveness) intervals")
        }
        if !expired.isEmpty { rebuildServiceIndex() }
        announceWorkersIfChanged(force: true)
        workerTimer = loop.schedule(after: interval) { [weak self] in self?.assumeIsolated { $0.workerTick() } }
    }

    // MARK: Announcing workers to the registries

    /// Tells the registries this broker serves its workers' services at its front end, so
    /// other brokers route those names here (every interval while there are workers).
    private func announceWorkersIfChanged(force: Bool = false) {
        let services = Set(instances.values.filter { $0.kind == .worker }.flatMap(\.services)).sorted()
        guard force || services != announcedServices else { return }
        if services.isEmpty {
            if !announcedServices.isEmpty { announce(services: announcedServices, leaving: true) }
        } else {
            announce(services: services, leaving: false)
        }
        announcedServices = services
    }

    private func announce(services: [String], leaving: Bool) {
        guard let front = boundEndpoint, !services.isEmpty else { return }
        let workers = instances.values.filter { $0.kind == .worker }
        let announcement = Announcement(
            instance: announcedInstance, node: configuration.name, endpoint: Endpoint.connectable(front),
            services: services, load: workers.map(\.outstanding).reduce(0, +), capacity: max(1, workers.count),
            intervalMilliseconds: Int(configuration.heartbeat.interval.millisecondsClamped), role: "broker")
        let header = Header(command: leaving ? .disconnect : .heartbeat, requestID: RequestID(client: 0, sequence: 0))
        let frames: [[UInt8]] = [[], header.encoded(), announcement.encoded()]
        for registry in registries { _ = registry.assumeIsolated { $0.sendOrDrop(frames) } }
    }

    // MARK: MDP clients

    /// `[client] [MDPC02] [REQUEST] [service] [body...]`: becomes a flight with an id of the
    /// broker's own; the reply goes back as PARTIAL/FINAL.
    func majordomoClientRequest(_ frames: ZMQReceivedFrames) {
        let route = [frames.bytes(0)]
        guard frames.count >= 5, frames.size(2) == 1, frames.withFrame(2, { $0[0] }) == MDP.ClientCommand.request.rawValue,
              let service = MDP.serviceName(frames.bytes(3)) else {
            // Too few frames (RFC 18: REQUEST has 4 or more after the routing id), not REQUEST,
            // or a service name that is not printable: dropped.
            drop(frames.count < 5 ? .missingHeader : .badName, peer: route[0])
            return
        }
        guard frames.count - 4 <= limits.maxBodyFrames else {
            drop(.tooManyFrames, peer: route[0])
            return
        }
        let body = (4..<frames.count).map { frames.bytes($0) }
        stats.requests += 1
        if service.hasPrefix(MDP.managementPrefix) {
            sendClient(route, MDP.clientMessage(.final, service: service, body: [management(service, body)]))
            stats.replies += 1
            return
        }
        guard accepting else {
            replyMajordomo(to: route, service: service, status: StatusCode.unavailable.rawValue,
                           body: [Array("broker \(configuration.name) is shutting down".utf8)])
            return
        }
        majordomoSequence += 1
        var header = Header(command: .request, requestID: RequestID(client: majordomoClientID, sequence: majordomoSequence), name: service)
        // Workers are idempotent by RFC 18's assumption; requests expire if nothing serves them.
        header.flags = [.idempotent]
        header.budgetMilliseconds = UInt32(clamping: configuration.majordomoRequestTimeout.millisecondsClamped)
        guard flights.count < configuration.maxInFlight, perClient[route, default: 0] < configuration.maxInFlightPerClient else {
            overload(route, header: header, why: "broker \(configuration.name) holds too many requests")
            return
        }
        let deadline = MonotonicTime.now().advanced(by: configuration.majordomoRequestTimeout)
        flights[header.requestID] = Flight(route: route, header: header, body: body, service: serviceName(of: service),
                                           deadline: deadline, majordomo: service)
        perClient[route, default: 0] += 1
        dispatch(header.requestID)
        armSweep()
    }

    /// The MDP service name to answer with, if `request` came from an MDP client.
    func majordomoService(of request: Header, route: [[UInt8]]) -> String? {
        request.requestID.client == majordomoClientID && route.count == 1 ? request.name : nil
    }

    /// FINAL to an MDP client. A failure carries a status frame first (MDP has no error
    /// command): HTTP-like codes, as MMI's "200"/"404"/"501".
    func replyMajordomo(to route: [[UInt8]], service: String, status: UInt16?, body: [[UInt8]]) {
        var frames = body
        if let status { frames.insert(Array(String(Self.majordomoStatus(status)).utf8), at: 0) }
        sendClient(route, MDP.clientMessage(.final, service: service, body: frames.isEmpty ? [[]] : frames))
    }

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

    func sendClient(_ route: [[UInt8]], _ message: [[UInt8]]) {
        let result = frontend?.assumeIsolated { try? $0.send(route + message) }
        if result != .sent && result != .queued { stats.dropped += 1 }
    }

    // MARK: MMI (RFC 8)

    /// `mmi.service`: "200" if the mesh knows the named service (a service node, a worker, or
    /// another broker's workers), else "404". Any other `mmi.` name: "501".
    func management(_ name: String, _ body: [[UInt8]]) -> [UInt8] {
        guard name == "mmi.service" else { return MDP.Status.notImplemented }
        let asked = String(decoding: body.first ?? [], as: UTF8.self)
        let known = !(instancesByService[ServiceHandlers.serviceName(of: asked)] ?? []).isEmpty
        return known ? MDP.Status.found : MDP.Status.notFound
    }
}
