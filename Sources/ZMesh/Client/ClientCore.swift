import DequeModule
import Foundation
import Logging
import ZeroMQ

/// The client's state, isolated to its event loop: one DEALER per peer, every call in
/// flight by sequence number, what registries said about each service, and the timer that
/// ends calls at their deadline.
///
/// Calls enter through `start(_:_:)`, queued onto the loop by ``MeshClient`` without an actor
/// hop; replies resume the caller's continuation straight from the loop thread.
actor ClientCore {
    nonisolated let loop: EventLoop
    nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }

    nonisolated let clientID: UInt64
    let configuration: MeshClient.Configuration
    let logger: Logger

    private var connections: [ConnectionID: Connection] = [:]
    /// Fixed endpoints, brokers or registries, in configuration order (the candidates for
    /// every call in those modes).
    private var staticList: [Connection] = []
    /// Service instance connections by endpoint (registry discovery).
    private var instanceConnections: [String: ConnectionID] = [:]
    private var nextConnectionID: UInt32 = 1
    private var pending = IDTable<UInt64, PendingCall>(minimumCapacity: 1024)
    private var parked: Set<UInt64> = []
    private var earlyCancels: [UInt64: MonotonicTime] = [:]
    private var sweepTimer: LoopTimerID?
    private var sweepAt = MonotonicTime.distantFuture
    private var started = false
    private var closed = false
    private var drops = DropCounters(role: "client")
    /// Bounded: past 256 service names, calls are counted as `_other`.
    private var outcomes = OutcomeCounters(label: "rpc.client.requests")
    private var malformedLog = RateLimitedLog()
    private var stats = ClientStats()
    private var lastServiceName: (name: String, service: String)?
    private var tieBreaker = SplitMix64(seed: UInt64.random(in: 0...UInt64.max))

    // Registry discovery.
    private struct Resolution {
        /// Endpoints of the live instances; nil until a registry has answered.
        var endpoints: [String]?
        /// Their connections (the candidates for calls).
        var connections: [Connection] = []
        var lookupInFlight = false
        /// Why the last look-up failed, for error messages.
        var lastFailure: String?
        /// The last look-up was refused (CURVE): calls fail `forbidden`, not `unavailable`.
        var refused = false
        /// When it entered the table (a counter): the longest held goes first when it is full.
        var admitted: UInt64 = 0
    }
    /// Bounded by `maxKnownServices`: callers choose the names (see `admitResolution`).
    private var resolutions: [String: Resolution] = [:]
    private var resolutionsAdmitted: UInt64 = 0
    /// Instances skipped because `maxInstanceConnections` was reached (logged once each time it is).
    private var connectionLimitLogged = false
    private var subscribers: [ZMQSocketActor] = []
    private var refreshTimer: LoopTimerID?
    /// Internal calls (look-ups) use sequence numbers with the top bit set.
    private var nextInternalSequence: UInt64 = 1 << 63

    init(loop: EventLoop, clientID: UInt64, configuration: MeshClient.Configuration, logger: Logger) {
        self.loop = loop
        self.clientID = clientID
        self.configuration = configuration
        self.logger = logger
    }

    // MARK: Connections

    func startIfNeeded() {
        guard !started, !closed else { return }
        started = true
        switch configuration.discovery {
        case .endpoints(let endpoints), .brokers(let endpoints):
            for endpoint in endpoints {
                if let connection = openConnection(to: endpoint) { staticList.append(connection) }
            }
        case .registries(let registries):
            for registry in registries {
                if let connection = openConnection(to: registry.endpoint) { staticList.append(connection) }
                if let publish = registry.publish { subscribe(to: publish) }
            }
            scheduleRefresh()
        }
    }

    private func openConnection(to endpoint: String) -> Connection? {
        let id = ConnectionID(raw: nextConnectionID)
        nextConnectionID += 1
        do {
            let socket = try loop.makeSocket(.dealer)
            let heartbeat = Int32(clamping: configuration.peerHeartbeatInterval.millisecondsClamped)
            let options: [ZMQSocketOption] = [
                .immediate(true),
                .sendHighWaterMark(configuration.socketHighWaterMark),
                .receiveHighWaterMark(configuration.socketHighWaterMark),
                .heartbeatInterval(milliseconds: heartbeat),
                .heartbeatTimeout(milliseconds: heartbeat * 3),
                .reconnectInterval(milliseconds: Int32(clamping: configuration.reconnectBackOff.first.millisecondsClamped)),
                .reconnectIntervalMax(milliseconds: Int32(clamping: configuration.reconnectBackOff.longest.millisecondsClamped)),
            ]
            try socket.set(options)
            if let curve = configuration.curve {
                guard let keys = curve.clientOptions(for: endpoint) else {
                    throw SecurityError("no CURVE public key is known for \(endpoint)")
                }
                try socket.set(keys)
            }
            let actor = try ZMQSocketActor(loop: loop, socket: socket)
            let connection = Connection(id: id, endpoint: endpoint, socket: actor)
            try actor.assumeIsolated { dealer in
                try dealer.monitor([.connectionLifecycle, .connectRetried]) { [weak self] event in
                    self?.assumeIsolated { $0.connectionEvent(id, event) }
                }
                try dealer.onFrames { [weak self] frames in
                    self?.assumeIsolated(passing: frames) { core, frames in core.receive(frames, from: id) }
                }
                try dealer.connect(endpoint)
            }
            connections[id] = connection
            return connection
        } catch {
            logger.error("cannot connect", metadata: ["zmesh.endpoint": "\(endpoint)", "zmesh.error": "\(error)"])
            return nil
        }
    }

    private func closeConnection(_ connection: Connection) {
        connection.socket.assumeIsolated { $0.close() }
        connections[connection.id] = nil
        if instanceConnections[connection.endpoint] == connection.id { instanceConnections[connection.endpoint] = nil }
    }

    private func connectionEvent(_ id: ConnectionID, _ event: ZMQMonitorEvent) {
        guard let connection = connections[id] else { return }
        if event.isUp {
            guard connection.state != .up else { return }
            connection.state = .up
            logger.debug("connection up", metadata: ["zmesh.endpoint": "\(connection.endpoint)"])
            dispatchParked()
        } else if event.isDown || event.event == .connectRetried {
            if !event.event.intersection([.handshakeFailedAuth, .handshakeFailedProtocol, .handshakeFailedNoDetail]).isEmpty {
                connection.refusal = "\(connection.endpoint) refused this client's CURVE handshake (is its key on the mesh's allow-list?)"
                logger.warning("refused by a peer", metadata: ["zmesh.endpoint": "\(connection.endpoint)"])
            }
            guard connection.state != .down else { return }
            let wasUp = connection.state == .up
            connection.state = .down
            if wasUp {
                logger.warning("connection lost; failing over its calls", metadata: [
                    "zmesh.endpoint": "\(connection.endpoint)", "zmesh.in_flight": "\(connection.outstanding)",
                    "zmesh.event": "\(event.event)",
                ])
            }
            connectionLost(connection)
        }
    }

    /// A restarted instance is announced while its old connection waits out libzmq's
    /// reconnect back-off (up to a second): connect again at once, so calls wait for it
    /// (the connection is `connecting`) rather than fail as unreachable meanwhile.
    private func reconnectNow(_ connection: Connection) {
        let endpoint = connection.endpoint
        let reconnected = connection.socket.assumeIsolated { dealer -> Bool in
            do {
                try dealer.disconnect(endpoint)
                try dealer.connect(endpoint)
                return true
            } catch {
                return false
            }
        }
        guard reconnected else { return }
        connection.state = .connecting
        connection.refusal = nil
        logger.debug("a new instance is announced: reconnecting now", metadata: ["zmesh.endpoint": "\(endpoint)"])
    }

    /// Every call in flight on a lost connection is re-sent elsewhere (idempotent) or failed.
    private func connectionLost(_ connection: Connection) {
        _ = connection.socket.assumeIsolated { $0.discardOutbound() }
        connection.outstanding = 0
        let affected = pending.entries.filter { $0.value.connection == connection.id }.map(\.key).sorted()
        for seq in affected {
            guard let call = pending[seq] else { continue }
            call.connection = nil
            call.failedOn.append(connection.id)
            call.lastError = "the connection to \(connection.endpoint) was lost"
            if call.idempotent {
                stats.retries += 1
                dispatch(seq)
            } else {
                fail(seq, MeshError(.unavailable, service: call.name,
                                    message: "the connection to \(connection.endpoint) was lost while the call was in flight; it is not idempotent so it was not re-sent",
                                    mayHaveRun: true))
            }
        }
        // Parked calls may now have nowhere to go: fail fast rather than at the deadline.
        dispatchParked()
    }

    // MARK: Calls

    func start(_ seq: UInt64, _ request: CallRequest) {
        stats.calls += 1
        var request = request
        if request.service.isEmpty { request.service = serviceName(of: request.name) }
        let call = PendingCall(request)
        if !earlyCancels.isEmpty, earlyCancels.removeValue(forKey: seq) != nil {
            finish(call, .failure(MeshError(.cancelled, service: call.name, message: "the calling task was cancelled")))
            return
        }
        guard !closed else {
            finish(call, .failure(MeshError(.closed, service: call.name, message: "the client was shut down")))
            return
        }
        startIfNeeded()
        pending[seq] = call
        armSweep(for: call.deadline)
        dispatch(seq)
    }

    func cancel(_ seq: UInt64) {
        guard let call = pending[seq] else {
            // The cancel overtook the start (or the call already ended): remember it briefly.
            earlyCancels[seq] = .now()
            return
        }
        sendCancel(for: call, seq: seq)
        fail(seq, MeshError(.cancelled, service: call.name, message: "the calling task was cancelled",
                            mayHaveRun: call.attempts > 0))
    }

    /// Sends the call (again) on the best live connection, parks it until one is up or the
    /// name is resolved, or fails it.
    private func dispatch(_ seq: UInt64) {
        guard let call = pending[seq] else { return }
        let now = MonotonicTime.now()
        guard call.deadline > now else {
            fail(seq, timeoutError(call))
            return
        }
        guard call.attempts < call.maxAttempts else {
            fail(seq, MeshError(.unavailable, service: call.name,
                                message: "gave up after \(call.attempts) attempts" + (call.lastError.map { "; the last: \($0)" } ?? ""),
                                mayHaveRun: call.lastError == nil || call.attempts > 1))
            return
        }
        guard let candidates = candidates(for: call.service) else {
            park(seq, call)
            return
        }
        guard !candidates.isEmpty else {
            let refused = resolutions[call.service]?.refused == true
            fail(seq, MeshError(refused ? .forbidden : .unavailable, service: call.name,
                                message: noInstanceMessage(call.service), mayHaveRun: call.attempts > 0))
            return
        }
        guard let connection = choose(from: candidates, avoiding: call.failedOn) else {
            if candidates.contains(where: { $0.state == .connecting }) {
                park(seq, call)
                return
            }
            if let refusal = candidates.lazy.compactMap(\.refusal).first {
                fail(seq, MeshError(.forbidden, service: call.name, message: refusal, mayHaveRun: call.attempts > 0))
                return
            }
            if case .registries = configuration.discovery, call.service != Self.registryService, !call.refreshedBeforeFailing {
                // Every instance we know is unreachable; a registry may know a newer one (a
                // restart at the same endpoint, announced a moment ago): ask once, then decide.
                call.refreshedBeforeFailing = true
                lookUp(call.service)
                park(seq, call)
                return
            }
            fail(seq, MeshError(.unavailable, service: call.name,
                                message: "no live instance of \(call.service): \(candidates.map(\.endpoint).joined(separator: ", ")) unreachable",
                                mayHaveRun: call.attempts > 0))
            return
        }
        if call.parked {
            call.parked = false
            parked.remove(seq)
        }
        var header = Header(command: .request, requestID: RequestID(client: clientID, sequence: seq))
        header.attempt = UInt8(clamping: call.attempts)
        if call.idempotent { header.flags.insert(.idempotent) }
        header.budgetMilliseconds = UInt32(clamping: (now.nanoseconds(until: call.deadline) + 999_999) / 1_000_000)
        header.name = call.name
        header.traceID = call.traceID
        let payload = call.payload
        let result = header.withEncoded { bytes in
            connection.socket.assumeIsolated(passing: bytes) { socket, bytes in
                try? socket.sendEnvelope(routing: [], header: bytes, body: payload)
            }
        }
        guard result == .sent || result == .queued else {
            call.failedOn.append(connection.id)
            dispatch(seq)
            return
        }
        if call.attempts > 0 {
            logger.debug("re-sent call", metadata: [
                "zmesh.request_id": "\(header.requestID)", "zmesh.endpoint": "\(connection.endpoint)",
                "zmesh.attempt": "\(call.attempts)",
            ])
        }
        call.attempts += 1
        call.connection = connection.id
        connection.outstanding += 1
    }

    /// `kv` for `kv.get`, remembering the last answer (most calls repeat the name before).
    private func serviceName(of name: String) -> String {
        if let last = lastServiceName, last.name == name { return last.service }
        let service = ServiceHandlers.serviceName(of: name)
        lastServiceName = (name, service)
        return service
    }

    private func park(_ seq: UInt64, _ call: PendingCall) {
        call.parked = true
        parked.insert(seq)
    }

    /// The connections that can take a call for `service`; nil while the name is being resolved.
    private func candidates(for service: String) -> [Connection]? {
        switch configuration.discovery {
        case .endpoints, .brokers:
            return staticList
        case .registries:
            if service == Self.registryService { return staticList }
            guard let resolution = resolutions[service], resolution.endpoints != nil else {
                lookUp(service)
                return nil
            }
            return resolution.connections
        }
    }

    private func noInstanceMessage(_ service: String) -> String {
        if service == Self.registryService { return "no registry is configured" }
        if let failure = resolutions[service]?.lastFailure { return "no live instance of \(service) is known: \(failure)" }
        return "no live instance of \(service) is registered"
    }

    /// The live connection with the fewest calls outstanding, preferring ones this call has not failed on.
    private func choose(from candidates: [Connection], avoiding failed: [ConnectionID]) -> Connection? {
        var best: Connection?
        var bestIsFresh = false
        let count = candidates.count
        // Start the scan at a random place so ties (common: sequential callers leave every
        // instance at zero outstanding) spread evenly whatever the callers' pattern.
        let start = count > 1 ? Int(tieBreaker.next() % UInt64(count)) : 0
        for offset in 0..<count {
            let candidate = candidates[(start &+ offset) % count]
            guard candidate.state == .up else { continue }
            let fresh = !failed.contains(candidate.id)
            if let current = best {
                if fresh && !bestIsFresh || (fresh == bestIsFresh && candidate.outstanding < current.outstanding) {
                    best = candidate
                    bestIsFresh = fresh
                }
            } else {
                best = candidate
                bestIsFresh = fresh
            }
        }
        return best
    }

    private func dispatchParked() {
        guard !parked.isEmpty else { return }
        let waiting = parked.sorted()
        parked.removeAll()
        for seq in waiting { dispatch(seq) }
    }

    // MARK: Replies

    private func receive(_ frames: ZMQReceivedFrames, from id: ConnectionID) {
        let envelope: Envelope
        switch Envelope.decode(frames, routed: false, limits: configuration.limits) {
        case .success(let decoded): envelope = decoded
        case .failure(let reason):
            drop(reason, from: id)
            return
        }
        let header = envelope.header
        guard header.command == .reply || header.command == .error else {
            drop(.unexpectedCommand, from: id)
            return
        }
        guard header.requestID.client == clientID, let call = pending[header.requestID.sequence] else {
            stats.lateReplies += 1
            return
        }
        let seq = header.requestID.sequence
        if header.command == .reply {
            complete(seq, .success(envelope.payload))
            return
        }
        let message = envelope.body.first.map { String(decoding: $0, as: UTF8.self) } ?? ""
        let mayHaveRun = header.flags.contains(.mayHaveRun)
        if header.flags.contains(.retryElsewhere), let connection = call.connection {
            // The peer refused without running it (draining): safe to try elsewhere.
            connections[connection].map { $0.outstanding = max(0, $0.outstanding - 1) }
            call.connection = nil
            call.failedOn.append(connection)
            call.lastError = message
            stats.retries += 1
            dispatch(seq)
            return
        }
        complete(seq, .failure(MeshError(status: header.status, service: call.name, message: message, mayHaveRun: mayHaveRun)))
    }

    private func drop(_ reason: MalformedReason, from id: ConnectionID) {
        drops.record(reason)
        let endpoint = connections[id]?.endpoint ?? "?"
        if malformedLog.shouldLog(Array(endpoint.utf8)) {
            logger.warning("dropped malformed message", metadata: ["zmesh.reason": "\(reason.rawValue)", "zmesh.endpoint": "\(endpoint)"])
        }
    }

    // MARK: Ending calls

    private func complete(_ seq: UInt64, _ result: Result<[UInt8], MeshError>) {
        guard let call = pending.removeValue(forKey: seq) else { return }
        if let id = call.connection, let connection = connections[id] {
            connection.outstanding = max(0, connection.outstanding - 1)
        }
        if call.parked { parked.remove(seq) }
        finish(call, result)
    }

    private func fail(_ seq: UInt64, _ error: MeshError) {
        complete(seq, .failure(error))
    }

    private func finish(_ call: PendingCall, _ result: Result<[UInt8], MeshError>) {
        switch call.completion {
        case .caller(let continuation):
            switch result {
            case .success:
                stats.succeeded += 1
                outcomes.recordSuccess(service: call.service)
            case .failure(let error):
                stats.failed[error.code.rawValue, default: 0] += 1
                outcomes.record(service: call.service, outcome: error.code.rawValue)
            }
            continuation.resume(returning: result)
        case .client(let handler):
            handler(result)
        }
    }

    private func timeoutError(_ call: PendingCall) -> MeshError {
        MeshError(.timeout, service: call.name,
                  message: "no reply within \(call.timeout) (\(call.attempts) attempt\(call.attempts == 1 ? "" : "s"))",
                  mayHaveRun: call.attempts > 0)
    }

    private func sendCancel(for call: PendingCall, seq: UInt64) {
        guard let id = call.connection, let connection = connections[id], connection.state == .up else { return }
        let header = Header(command: .cancel, requestID: RequestID(client: clientID, sequence: seq))
        _ = connection.socket.assumeIsolated { try? $0.send([[], header.encoded()]) }
    }

    // MARK: Deadlines

    /// One timer at the earliest deadline; re-armed only when a call has an earlier one.
    private func armSweep(for deadline: MonotonicTime) {
        guard deadline < sweepAt else { return }
        if let sweepTimer { loop.cancelTimer(sweepTimer) }
        sweepAt = deadline
        sweepTimer = loop.schedule(at: deadline) { [weak self] in
            self?.assumeIsolated { $0.sweep() }
        }
    }

    private func sweep() {
        sweepTimer = nil
        sweepAt = .distantFuture
        let now = MonotonicTime.now()
        var expired: [UInt64] = []
        var earliest = MonotonicTime.distantFuture
        for (seq, call) in pending.entries {
            if call.deadline <= now { expired.append(seq) } else if call.deadline < earliest { earliest = call.deadline }
        }
        for seq in expired.sorted() {
            guard let call = pending[seq] else { continue }
            sendCancel(for: call, seq: seq)
            fail(seq, timeoutError(call))
        }
        if !earlyCancels.isEmpty {
            let stale = now.advanced(by: .seconds(-10))
            earlyCancels = earlyCancels.filter { $0.value > stale }
            earliest = min(earliest, now.advanced(by: .seconds(10)))
        }
        if earliest != .distantFuture { armSweep(for: earliest) }
    }

    // MARK: Registry discovery

    /// The service name registries answer under (`mesh.lookup`, `mesh.status`).
    static let registryService = "mesh"

    /// Asks a live registry for `service`'s instances, unless a look-up is already out.
    private func lookUp(_ service: String) {
        guard resolutions[service]?.lookupInFlight != true else { return }
        if resolutions[service] == nil { admitResolution(service) }
        resolutions[service, default: Resolution()].lookupInFlight = true
        let seq = nextInternalSequence
        nextInternalSequence += 1
        let registries = max(1, staticList.count)
        let call = PendingCall(CallRequest(
            completion: .client { [weak self] result in self?.assumeIsolated { $0.lookupFinished(service, result) } },
            name: "mesh.lookup", service: Self.registryService, payload: Array(service.utf8),
            timeout: configuration.lookupTimeout, idempotent: true, maxAttempts: registries + 1, traceID: nil))
        pending[seq] = call
        armSweep(for: call.deadline)
        dispatch(seq)
    }

    private func lookupFinished(_ service: String, _ result: Result<[UInt8], MeshError>) {
        // Gone if the client was closed meanwhile: nothing to keep.
        guard resolutions[service] != nil else { return }
        resolutions[service]?.lookupInFlight = false
        switch result {
        case .success(let body):
            guard let answer = try? JSONDecoder().decode(LookupReply.self, from: Data(body)) else {
                lookupFailed(service, "a registry sent an answer that does not decode")
                return
            }
            apply(service, answer.instances, complete: answer.complete)
        case .failure(let error):
            resolutions[service]?.refused = error.code == .forbidden
            lookupFailed(service, error.code == .forbidden ? "the registries refused this client (\(error.message))"
                                                           : "no registry answered (\(error.message))")
        }
    }

    private func lookupFailed(_ service: String, _ why: String) {
        resolutions[service]?.lastFailure = why
        if resolutions[service]?.endpoints == nil {
            // Never resolved: fail its parked calls now rather than at their deadline.
            resolutions[service]?.endpoints = []
            resolutions[service]?.connections = []
            dispatchParked()
            resolutions[service]?.endpoints = nil
        } else {
            logger.debug("look-up failed; keeping the last answer", metadata: ["zmesh.service": "\(service)", "zmesh.reason": "\(why)"])
            // Calls that waited for this answer decide on the last one.
            dispatchParked()
        }
    }

    /// Takes a registry's answer. An incomplete one (a registry that just started) can only
    /// add instances: it may not have heard the others yet.
    private func apply(_ service: String, _ instances: [InstanceInfo], complete: Bool) {
        let live = instances.filter { $0.health == .live && $0.services.contains(service) }
        var endpoints = live.map(\.endpoint)
        let announced = Dictionary(live.map { ($0.endpoint, $0.instance) }, uniquingKeysWith: { _, last in last })
        let old = resolutions[service]?.endpoints
        if !complete, let old { endpoints = Array(Set(endpoints).union(old)) }
        endpoints.sort()
        resolutions[service]?.endpoints = endpoints
        resolutions[service]?.connections = endpoints.compactMap { endpoint in
            if let id = instanceConnections[endpoint], let connection = connections[id] {
                if let instance = announced[endpoint] {
                    let isNew = old?.contains(endpoint) != true || (connection.instance.map { $0 != instance } ?? false)
                    connection.instance = instance
                    if isNew && connection.state == .down { reconnectNow(connection) }
                }
                return connection
            }
            guard instanceConnections.count < configuration.maxInstanceConnections else {
                if !connectionLimitLogged {
                    connectionLimitLogged = true
                    logger.warning("instance connection limit reached: skipping instances until others go away", metadata: [
                        "zmesh.service": "\(service)", "zmesh.endpoint": "\(endpoint)",
                        "zmesh.max_instance_connections": "\(configuration.maxInstanceConnections)",
                    ])
                }
                return nil
            }
            guard let connection = openConnection(to: endpoint) else { return nil }
            connection.instance = announced[endpoint]
            instanceConnections[endpoint] = connection.id
            return connection
        }
        resolutions[service]?.lastFailure = nil
        resolutions[service]?.refused = false
        if old != endpoints {
            logger.debug("instances changed", metadata: ["zmesh.service": "\(service)", "zmesh.endpoints": "\(endpoints.joined(separator: ","))"])
            pruneConnections()
        }
        dispatchParked()
    }

    private func subscribe(to endpoint: String) {
        do {
            let socket = try loop.makeSocket(.sub)
            try socket.set([.subscribe(Array("svc:".utf8)), .reconnectInterval(milliseconds: 100),
                            .reconnectIntervalMax(milliseconds: 1000), .maxMessageSize(1 << 20)])
            if let curve = configuration.curve {
                guard let keys = curve.clientOptions(for: endpoint) else {
                    throw SecurityError("no CURVE public key is known for \(endpoint)")
                }
                try socket.set(keys)
            }
            let actor = try ZMQSocketActor(loop: loop, socket: socket)
            try actor.assumeIsolated { sub in
                try sub.onMessage { [weak self] frames in self?.assumeIsolated { $0.changeEvent(frames) } }
                try sub.connect(endpoint)
            }
            subscribers.append(actor)
        } catch {
            logger.warning("cannot subscribe to registry changes", metadata: ["zmesh.endpoint": "\(endpoint)", "zmesh.error": "\(error)"])
        }
    }

    private func changeEvent(_ frames: [[UInt8]]) {
        guard frames.count == 2, frames[0].starts(with: Array("svc:".utf8)),
              let answer = try? JSONDecoder().decode(LookupReply.self, from: Data(frames[1])) else {
            drops.record(.badBody)
            return
        }
        let service = String(decoding: frames[0].dropFirst(4), as: UTF8.self)
        guard resolutions[service] != nil else { return }   // not a service this client calls (or it forgot)
        apply(service, answer.instances, complete: answer.complete)
    }

    /// Re-asks registries about every known service: the safety net under change events.
    private func scheduleRefresh() {
        refreshTimer = loop.schedule(after: configuration.refreshInterval) { [weak self] in
            self?.assumeIsolated { core in
                core.forgetEmptyAnswers()
                for service in core.resolutions.keys.sorted() { core.lookUp(service) }
                core.pruneConnections()
                core.scheduleRefresh()
            }
        }
    }

    /// Makes room for `service`'s answer: the table is bounded by `maxKnownServices`, since
    /// callers choose the names. Answers with no live instance go first, then the longest held;
    /// one being looked up stays (its calls wait for it).
    private func admitResolution(_ service: String) {
        if resolutions.count >= configuration.maxKnownServices {
            forgetEmptyAnswers()
        }
        if resolutions.count >= configuration.maxKnownServices,
           let oldest = resolutions.filter({ !$0.value.lookupInFlight }).min(by: { $0.value.admitted < $1.value.admitted })?.key {
            resolutions[oldest] = nil
            pruneConnections()
        }
        resolutionsAdmitted += 1
        resolutions[service] = Resolution(admitted: resolutionsAdmitted)
    }

    /// Drops every answer that listed no live instance, and every failed look-up, unless it is
    /// being asked again: a call to such a name looks it up anew, so made-up names leave
    /// nothing behind.
    private func forgetEmptyAnswers() {
        resolutions = resolutions.filter { _, resolution in
            resolution.lookupInFlight || !(resolution.endpoints ?? []).isEmpty
        }
    }

    /// Closes instance connections no service lists any more, once nothing is in flight on them.
    private func pruneConnections() {
        let wanted = Set(resolutions.values.compactMap(\.endpoints).joined())
        for (endpoint, id) in instanceConnections where !wanted.contains(endpoint) {
            guard let connection = connections[id], connection.outstanding == 0 else { continue }
            closeConnection(connection)
        }
    }

    // MARK: Status and shutdown

    func snapshot() -> ClientStats {
        var copy = stats
        copy.malformed = drops.snapshot
        copy.inFlight = pending.count
        return copy
    }

    /// Endpoint -> whether its connection is up.
    func connectionStates() -> [String: Bool] {
        Dictionary(connections.values.map { ($0.endpoint, $0.state == .up) }, uniquingKeysWith: { $0 || $1 })
    }

    /// Live endpoints the client knows for `service`, nil if not resolved yet.
    func knownEndpoints(of service: String) -> [String]? {
        resolutions[service]?.endpoints
    }

    func close() {
        guard !closed else { return }
        closed = true
        for seq in pending.entries.map(\.key).sorted() {
            guard let call = pending[seq] else { continue }
            fail(seq, MeshError(.closed, service: call.name, message: "the client was shut down", mayHaveRun: call.attempts > 0))
        }
        for timer in [sweepTimer, refreshTimer].compactMap({ $0 }) { loop.cancelTimer(timer) }
        sweepTimer = nil
        refreshTimer = nil
        for connection in connections.values { connection.socket.assumeIsolated { $0.close() } }
        for subscriber in subscribers { subscriber.assumeIsolated { $0.close() } }
        connections.removeAll()
        staticList.removeAll()
        resolutions.removeAll()
        instanceConnections.removeAll()
        subscribers.removeAll()
    }
}
