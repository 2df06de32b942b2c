import DequeModule
import Foundation
import Logging
import ZeroMQ

/// A broker's state, isolated to its event loop: the front end clients talk to, the back end
/// that reaches service instances, what the registries say, requests in flight and queued.
actor BrokerCore {
    nonisolated let loop: EventLoop
    nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }

    let configuration: BrokerNode.Configuration
    let logger: Logger

    /// A service instance as the broker sees it.
    struct Instance {
        /// Where requests for it go.
        enum Kind: Equatable {
            /// A mesh service node, reached through the back end.
            case service
            /// Another broker's front end, announcing the services of its Majordomo workers;
            /// only requests that came straight from a client go there (never broker to broker
            /// to broker).
            case broker
            /// A Majordomo (MDP/0.2) worker connected to this broker's workers socket.
            case worker
        }

        let id: String
        let routingID: [UInt8]
        let endpoint: String
        var services: [String]
        var capacity: Int
        var kind: Kind = .service
        var outstanding = 0
        /// The back end's connection to it has finished its handshake (workers: READY came).
        var ready = false
        /// Workers: the descriptor of its connection, to match the monitor's disconnects.
        var descriptor: Int32?
        /// Workers: when it last sent anything, and when the broker last sent it anything.
        var lastHeard = MonotonicTime.now()
        var lastSent = MonotonicTime.now()
    }

    /// A request the broker holds: queued, or in flight at an instance. Keyed by its request
    /// id; `route` (the client's routing ids) must match on every message about it.
    final class Flight {
        let route: [[UInt8]]
        var header: Header
        let body: [[UInt8]]
        let service: String
        let deadline: MonotonicTime?
        var instance: String?
        var sent = 0
        var triedOn: [String] = []
        /// An MDP/Client request: the reply goes back as MDP PARTIAL/FINAL.
        var majordomo: String?
        /// PARTIAL bodies from a worker, kept for a caller that cannot take them one by one;
        /// at most `maxMessageBytes` in all (see `keepPartials`).
        var partials: [[UInt8]] = []
        var partialBytes = 0

        init(route: [[UInt8]], header: Header, body: [[UInt8]], service: String, deadline: MonotonicTime?,
             majordomo: String? = nil) {
            self.route = route
            self.header = header
            self.body = body
            self.service = service
            self.deadline = deadline
            self.majordomo = majordomo
        }
    }

    typealias FlightKey = RequestID

    var frontend: ZMQSocketActor?
    var backend: ZMQSocketActor?
    private(set) var boundEndpoint: String?
    var registries: [ZMQSocketActor] = []
    var subscribers: [ZMQSocketActor] = []
    private var nextRegistry = 0
    private let lookupClient = UInt64.random(in: 1...UInt64.max)
    private var lookupSequence: UInt64 = 0
    private var lookupTimer: LoopTimerID?
    private var lookupSoon: LoopTimerID?

    var instances: [String: Instance] = [:]
    private var instanceByEndpoint: [String: String] = [:]
    var instancesByService: [String: [String]] = [:]
    /// False until the first look-up answer: requests wait instead of failing.
    var resolved = false

    var flights = IDTable<RequestID, Flight>(minimumCapacity: 1024)
    /// Requests held per client route.
    var perClient: [[[UInt8]]: Int] = [:]
    var queues: [String: Deque<FlightKey>] = [:]
    var queuedCount = 0
    private var sweepTimer: LoopTimerID?
    var accepting = true
    private var drainWaiters: [CheckedContinuation<Void, Never>] = []

    private var lastServiceName: (name: String, service: String)?
    /// Removes a flight and takes it out of its client's count.
    @discardableResult
    func forget(_ key: RequestID) -> Flight? {
        guard let flight = flights.removeValue(forKey: key) else { return nil }
        let count = (perClient[flight.route] ?? 1) - 1
        perClient[flight.route] = count > 0 ? count : nil
        return flight
    }

    private var tieBreaker = SplitMix64(seed: UInt64.random(in: 0...UInt64.max))
    var stats = BrokerStats()
    private var authenticator: ZAPAuthenticator?
    private let refusals = RefusalWatch()
    var drops = DropCounters(role: "broker")
    var malformedLog = RateLimitedLog()
    var limits: Envelope.Limits
    /// `limits` for requests from clients: one routing hop fewer.
    let clientLimits: Envelope.Limits

    // Majordomo (MDP/0.2) workers and clients: see BrokerCore+Majordomo.swift.
    var workerSocket: ZMQSocketActor?
    var workerByRoutingID: [[UInt8]: String] = [:]
    var workerByDescriptor: [Int32: String] = [:]
    var workerTimer: LoopTimerID?
    /// Request ids the broker gives MDP clients' requests (they carry none).
    let majordomoClientID = UInt64.random(in: 1...UInt64.max)
    var majordomoSequence: UInt64 = 0
    /// The instance id this broker announces its workers' services under.
    lazy var announcedInstance = "\(configuration.name)-workers-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
    var announcedServices: [String] = []
    /// Instances already reported as impossible to connect to (logged once each).
    var unreachableLogged: Set<String> = []

    init(loop: EventLoop, configuration: BrokerNode.Configuration, logger: Logger) {
        self.loop = loop
        self.configuration = configuration
        self.logger = logger
        var limits = Envelope.Limits()
        limits.maxMessageBytes = configuration.maxMessageBytes
        self.limits = limits
        // The broker adds its own routing id when it forwards, so a client gets one hop fewer:
        // a request the service would drop for too many hops is dropped (and counted) here.
        limits.maxHops -= 1
        self.clientLimits = limits
    }

    // MARK: Start and stop

    func start() throws -> String {
        if let boundEndpoint { return boundEndpoint }
        let heartbeat = Int32(clamping: configuration.peerHeartbeatInterval.millisecondsClamped)
        let peerOptions: [ZMQSocketOption] = [
            .routerMandatory(true), .sendHighWaterMark(100_000), .receiveHighWaterMark(100_000),
            .maxMessageSize(Int64(configuration.maxMessageBytes)),
            .heartbeatInterval(milliseconds: heartbeat), .heartbeatTimeout(milliseconds: heartbeat * 3),
        ]
        if let curve = configuration.curve {
            let zap = try ZAPAuthenticator(loop: loop, trusted: curve.trusted, logger: logger)
            try zap.assumeIsolated { try $0.start() }
            authenticator = zap
        }
        let front = try loop.makeSocket(.router)
        try front.set(peerOptions)
        if let curve = configuration.curve { try front.set(curve.serverOptions) }
        let frontActor = try ZMQSocketActor(loop: loop, socket: front)
        if configuration.curve != nil { try refusals.watch(frontActor, role: "broker", logger: logger) }
        try frontActor.assumeIsolated { socket in
            try socket.bind(configuration.bind)
            try socket.onFrames { [weak self] frames in
                self?.assumeIsolated(passing: frames) { core, frames in core.fromClient(frames) }
            }
        }
        frontend = frontActor
        boundEndpoint = try frontActor.assumeIsolated { try $0.lastEndpoint() }

        let back = try loop.makeSocket(.router)
        try back.set(peerOptions + [.reconnectInterval(milliseconds: 100), .reconnectIntervalMax(milliseconds: 1000)])
        let backActor = try ZMQSocketActor(loop: loop, socket: back)
        try backActor.assumeIsolated { socket in
            try socket.onFrames { [weak self] frames in
                self?.assumeIsolated(passing: frames) { core, frames in core.fromService(frames) }
            }
            try socket.monitor([.handshakeSucceeded, .disconnected, .closed, .connectRetried]) { [weak self] event in
                self?.assumeIsolated { $0.backendEvent(event) }
            }
        }
        backend = backActor

        for registry in configuration.registries {
            let socket = try loop.makeSocket(.dealer)
            // Named after the instance this broker announces its workers under (see the registry's
            // one-connection-one-instance rule).
            try socket.set([.immediate(true), .sendHighWaterMark(16), .reconnectInterval(milliseconds: 100),
                            .reconnectIntervalMax(milliseconds: 1000), .routingID(Array(announcedInstance.utf8))])
            try CurveSettings.secure(socket, with: configuration.curve, connectingTo: registry.endpoint)
            let actor = try ZMQSocketActor(loop: loop, socket: socket)
            try actor.assumeIsolated { dealer in
                try dealer.onMessage { [weak self] frames in self?.assumeIsolated { $0.fromRegistry(frames) } }
                try dealer.connect(registry.endpoint)
            }
            registries.append(actor)
            if let publish = registry.publish {
                let sub = try loop.makeSocket(.sub)
                try sub.set([.subscribe(Array("svc:".utf8)), .maxMessageSize(1 << 20),
                             .reconnectInterval(milliseconds: 100), .reconnectIntervalMax(milliseconds: 1000)])
                try CurveSettings.secure(sub, with: configuration.curve, connectingTo: publish)
                let subActor = try ZMQSocketActor(loop: loop, socket: sub)
                try subActor.assumeIsolated { socket in
                    try socket.onMessage { [weak self] _ in self?.assumeIsolated { $0.lookUpSoon() } }
                    try socket.connect(publish)
                }
                subscribers.append(subActor)
            }
        }
        if let workers = configuration.workers { try startWorkers(at: workers) }
        lookUp()
        logger.info("broker listening", metadata: [
            "zmesh.endpoint": "\(boundEndpoint ?? "")",
            "zmesh.registries": "\(configuration.registries.map(\.endpoint).joined(separator: ","))",
        ])
        return boundEndpoint ?? configuration.bind
    }

    /// Stops taking requests (new ones are refused so clients use another broker).
    func stopAccepting() {
        accepting = false
        // Queued requests have not run: hand them back now so clients re-send them elsewhere.
        for (_, queue) in queues {
            for key in queue { refuse(key, reason: "broker \(configuration.name) is shutting down") }
        }
        queues.removeAll()
        queuedCount = 0
        resumeDrainWaitersIfIdle()
    }

    func waitUntilDrained(limit: Duration) async {
        if flights.isEmpty { return }
        let timer = loop.schedule(after: limit) { [weak self] in self?.assumeIsolated { $0.resumeDrainWaiters() } }
        await withCheckedContinuation { drainWaiters.append($0) }
        loop.cancelTimer(timer)
    }

    func close() {
        accepting = false
        for key in flights.entries.map(\.key).sorted(by: { $0.sequence < $1.sequence }) {
            guard let flight = flights[key] else { continue }
            finishWithError(key, status: .unavailable,
                            message: "broker \(configuration.name) stopped", mayHaveRun: flight.instance != nil)
        }
        stopWorkers()
        for timer in [lookupTimer, lookupSoon, sweepTimer].compactMap({ $0 }) { loop.cancelTimer(timer) }
        lookupTimer = nil
        lookupSoon = nil
        sweepTimer = nil
        // The last replies and the "broker stopped" errors above still go out.
        for socket in [frontend, backend].compactMap({ $0 }) {
            socket.assumeIsolated { $0.close(lingering: .seconds(1)) }
        }
        for socket in registries + subscribers {
            socket.assumeIsolated { $0.close() }
        }
        authenticator?.assumeIsolated { $0.close() }
        authenticator = nil
        frontend = nil
        backend = nil
        registries.removeAll()
        subscribers.removeAll()
        resumeDrainWaiters()
    }

    func snapshot() -> BrokerStats {
        var copy = stats
        copy.malformed = drops.snapshot
        copy.inFlight = flights.count - queuedCount
        copy.queued = queuedCount
        copy.instances = instances.count
        copy.readyInstances = instances.values.filter(\.ready).count
        copy.refusedPeers = refusals.refused
        copy.readyByService = instancesByService.mapValues { ids in ids.filter { instances[$0]?.ready == true }.count }
        return copy
    }

    // MARK: From clients

    private func fromClient(_ frames: ZMQReceivedFrames) {
        // MDP/0.2 clients share the front end: their first frame after the routing id is
        // "MDPC02" where a native message has the empty delimiter.
        if frames.count >= 2, frames.withFrame(1, { $0.elementsEqual(MDP.clientProtocol) }) {
            majordomoClientRequest(frames)
            return
        }
        let envelope: Envelope
        switch Envelope.decode(frames, routed: true, limits: clientLimits) {
        case .success(let decoded): envelope = decoded
        case .failure(let reason):
            drop(reason, peer: frames.count > 0 ? frames.bytes(0) : [])
            return
        }
        switch envelope.header.command {
        case .request:
            request(envelope)
        case .cancel:
            cancel(envelope.header.requestID, route: envelope.routing, header: envelope.header)
        default:
            drop(.unexpectedCommand, peer: envelope.routing.first ?? [])
        }
    }

    private func request(_ envelope: Envelope) {
        let header = envelope.header
        let key = header.requestID
        let route = envelope.routing
        stats.requests += 1
        if header.name.hasPrefix("mesh.") || header.name.hasPrefix(MDP.managementPrefix) {
            answerLocally(route, header: header, body: envelope.body)
            return
        }
        if let held = flights[key] {
            // The same request again while held (one answer will do), or another client
            // claiming an id in use: refuse that one rather than mix their replies.
            if held.route != route {
                reply(to: route, header: header, command: .error, status: StatusCode.protocolError.rawValue,
                      body: Array("request id \(key) is in use by another client".utf8))
                stats.errors += 1
            }
            return
        }
        guard accepting else {
            reply(to: route, header: header, command: .error, status: StatusCode.unavailable.rawValue,
                  body: Array("broker \(configuration.name) is shutting down; the request did not run".utf8),
                  flags: [.retryElsewhere])
            stats.errors += 1
            return
        }
        guard header.budgetMilliseconds > 0 else {
            reply(to: route, header: header, command: .error, status: StatusCode.deadlineExceeded.rawValue,
                  body: Array("the deadline passed before the request reached broker \(configuration.name); it did not run".utf8))
            stats.errors += 1
            return
        }
        guard flights.count < configuration.maxInFlight else {
            overload(route, header: header, why: "broker \(configuration.name) holds \(flights.count) requests, its limit")
            return
        }
        guard perClient[route, default: 0] < configuration.maxInFlightPerClient else {
            overload(route, header: header,
                     why: "this client already has \(configuration.maxInFlightPerClient) requests at broker \(configuration.name), its limit")
            return
        }
        // No request is held forever: one without a budget gets the broker's longest hold, so a
        // lost answer cannot keep a client waiting or an instance's capacity taken for good.
        let budget: Duration = header.budgetMilliseconds == Header.noBudget
            ? configuration.maxRequestLifetime
            : min(.milliseconds(Int64(header.budgetMilliseconds)), configuration.maxRequestLifetime)
        let deadline: MonotonicTime? = MonotonicTime.now().advanced(by: budget)
        flights[key] = Flight(route: route, header: header, body: envelope.body,
                              service: serviceName(of: header.name), deadline: deadline)
        perClient[route, default: 0] += 1
        dispatch(key)
        armSweep()
    }

    private func cancel(_ key: RequestID, route: [[UInt8]], header: Header) {
        guard let flight = flights[key], flight.route == route else { return }
        forget(key)
        if let id = flight.instance, let instance = instances[id] {
            instances[id]?.outstanding -= 1
            var cancel = header
            cancel.command = .cancel
            send(toInstance: instance, route: flight.route, header: cancel, body: [])
            dispatchQueued(for: instance.services)
        } else {
            unqueue(key, service: flight.service)
        }
        resumeDrainWaitersIfIdle()
    }

    func answerLocally(_ route: [[UInt8]], header: Header, body: [[UInt8]]) {
        if header.name.hasPrefix(MDP.managementPrefix) {
            reply(to: route, header: header, command: .reply, status: 0, body: management(header.name, body))
            stats.replies += 1
            return
        }
        switch header.name {
        case "mesh.ping":
            reply(to: route, header: header, command: .reply, status: 0, body: Array("pong".utf8))
        case "mesh.broker":
            let body = (try? Array(JSONEncoder().encode(snapshot()))) ?? []
            reply(to: route, header: header, command: .reply, status: 0, body: body)
        default:
            reply(to: route, header: header, command: .error, status: StatusCode.notFound.rawValue,
                  body: Array("broker \(configuration.name) answers mesh.ping and mesh.broker, not \(header.name); ask a registry for mesh.lookup".utf8))
        }
        stats.replies += 1
    }

    // MARK: Routing

    /// Sends a held request to the best ready instance, queues it, or answers it with an error.
    func dispatch(_ key: FlightKey) {
        guard let flight = flights[key] else { return }
        if let deadline = flight.deadline, deadline <= .now() {
            finishWithError(key, status: .deadlineExceeded,
                            message: "the deadline passed while broker \(configuration.name) held the request", mayHaveRun: flight.sent > 0)
            return
        }
        guard resolved else {
            enqueue(key, flight)
            return
        }
        let candidates = instancesByService[flight.service] ?? []
        if candidates.isEmpty, flight.majordomo != nil {
            // RFC 18: queue MDP requests for a service nobody serves yet; they expire at their deadline.
            enqueue(key, flight)
            return
        }
        guard !candidates.isEmpty else {
            finishWithError(key, status: .unavailable, message: "no live instance of \(flight.service)", mayHaveRun: flight.sent > 0)
            return
        }
        let allowed = flight.route.count > 1 ? candidates.filter { instances[$0]?.kind != .broker } : candidates
        guard !allowed.isEmpty else {
            finishWithError(key, status: .unavailable, message: "no live instance of \(flight.service)", mayHaveRun: flight.sent > 0)
            return
        }
        guard let chosen = choose(allowed, avoiding: flight.triedOn), let instance = instances[chosen] else {
            enqueue(key, flight)
            return
        }
        var header = flight.header
        header.attempt = flight.header.attempt &+ UInt8(clamping: flight.sent)
        // An MDP client takes PARTIALs: ask a broker in between to pass them on as they come.
        if flight.majordomo != nil && instance.kind == .broker { header.flags.insert(.acceptsPartials) }
        if let deadline = flight.deadline {
            header.budgetMilliseconds = UInt32(clamping: (MonotonicTime.now().nanoseconds(until: deadline) + 999_999) / 1_000_000)
        }
        guard send(toInstance: instance, route: flight.route, header: header, body: flight.body) else {
            // Not connected after all: treat as not ready and try again.
            instances[chosen]?.ready = false
            dispatch(key)
            return
        }
        flight.instance = chosen
        flight.sent += 1
        instances[chosen]?.outstanding += 1
    }

    /// The ready instance with room and the fewest outstanding, preferring ones not tried yet;
    /// ties go to a random one (the scan starts at a random place).
    private func choose(_ candidates: [String], avoiding tried: [String]) -> String? {
        var best: String?
        var bestScore = (tried: true, outstanding: Int.max)
        let start = candidates.count > 1 ? Int(tieBreaker.next() % UInt64(candidates.count)) : 0
        for offset in 0..<candidates.count {
            let id = candidates[(start + offset) % candidates.count]
            guard let instance = instances[id], instance.ready, instance.outstanding < max(1, instance.capacity) else { continue }
            let score = (tried: tried.contains(id), outstanding: instance.outstanding)
            if best == nil || (!score.tried && bestScore.tried) || (score.tried == bestScore.tried && score.outstanding < bestScore.outstanding) {
                best = id
                bestScore = score
            }
        }
        return best
    }

    func enqueue(_ key: FlightKey, _ flight: Flight) {
        let waiting = queues[flight.service]?.count ?? 0
        guard waiting < configuration.maxQueuePerService else {
            forget(key)
            overload(flight.route, header: flight.header,
                     why: "every instance of \(flight.service) is at capacity and \(waiting) requests wait at broker \(configuration.name)")
            return
        }
        queues[flight.service, default: []].append(key)  // in place: no copy of the queue
        queuedCount += 1
    }

    /// Takes a queued request out of its service's queue. An emptied queue goes: queues are
    /// keyed by names clients choose, so an empty one kept would be memory a caller can grow.
    private func unqueue(_ key: FlightKey, service: String) {
        queues[service]?.removeAll { $0 == key }
        if queues[service]?.isEmpty == true { queues[service] = nil }
        queuedCount -= 1
    }

    /// No instance of `service` is left at all: fails what waits for it rather than hold it to
    /// its deadline. Majordomo requests stay queued (RFC 18 queues them for a service nobody
    /// serves yet; they expire at their deadline).
    private func failWaiting(for service: String) {
        guard let waiting = queues[service] else { return }
        var kept = Deque<FlightKey>()
        var failing: [FlightKey] = []
        for key in waiting {
            if flights[key]?.majordomo != nil { kept.append(key) } else { failing.append(key) }
        }
        guard !failing.isEmpty else { return }
        queues[service] = kept.isEmpty ? nil : kept
        queuedCount -= failing.count
        for key in failing { dispatch(key) }
    }

    func dispatchQueued(for services: [String]) {
        guard queuedCount > 0 else { return }   // the usual case, on every reply
        for service in services {
            // Each waiting request is tried at most once per call: one that goes back to the
            // queue (no instance it may use has room) cannot keep this loop spinning.
            var tries = queues[service]?.count ?? 0
            while tries > 0, let key = queues[service]?.first {
                tries -= 1
                guard (instancesByService[service] ?? []).contains(where: {
                    guard let candidate = instances[$0] else { return false }
                    return candidate.ready && candidate.outstanding < max(1, candidate.capacity)
                }) else {
                    if resolved && (instancesByService[service] ?? []).isEmpty { failWaiting(for: service) }
                    break
                }
                queues[service]?.removeFirst()
                if queues[service]?.isEmpty == true { queues[service] = nil }
                queuedCount -= 1
                dispatch(key)
            }
        }
    }

    // MARK: From services

    /// A reply or error from an instance: `[instance] [client route...] [] [header] [body...]`.
    /// Forwarded to the client straight from libzmq's buffers: header and body pass through.
    private func fromService(_ frames: ZMQReceivedFrames) {
        // Find the delimiter and decode only the header; the rest is forwarded as it is.
        var delimiter = -1
        for index in 0..<min(frames.count, limits.maxHops + 1) where frames.size(index) == 0 {
            delimiter = index
            break
        }
        guard delimiter >= 2, delimiter + 1 < frames.count, frames.count <= delimiter + 2 + limits.maxBodyFrames else {
            drop(delimiter < 0 ? .missingDelimiter : .unexpectedCommand, peer: frames.count > 0 ? frames.bytes(0) : [])
            return
        }
        let decoded = frames.withFrame(delimiter + 1) { Header.decode($0) }
        guard case .success(let header) = decoded else {
            if case .failure(let reason) = decoded { drop(reason, peer: frames.bytes(0)) }
            return
        }
        guard header.command == .reply || header.command == .error else {
            drop(.unexpectedCommand, peer: frames.bytes(0))
            return
        }
        let key = header.requestID
        guard let flight = flights[key], flight.route.count == delimiter - 1,
              (0..<(delimiter - 1)).allSatisfy({ hop in frames.withFrame(hop + 1) { $0.elementsEqual(flight.route[hop]) } }),
              let instanceID = flight.instance, frames.withFrame(0, { $0.elementsEqual(instanceID.utf8) }) else {
            stats.dropped += 1
            return
        }
        if header.command == .reply && header.flags.contains(.partial) {
            // A part of a Majordomo worker's answer, from the broker it is on: passed on as a
            // PARTIAL; the flight stays until the last part.
            let body = ((delimiter + 2)..<frames.count).map { frames.bytes($0) }
            if let service = flight.majordomo, flight.route.count == 1 {
                sendClient(flight.route, MDP.clientMessage(.partial, service: service, body: body))
            } else {
                keepPartials(body, of: key, flight)
            }
            return
        }
        instances[instanceID]?.outstanding -= 1
        if header.command == .error && header.flags.contains(.retryElsewhere) {
            // The instance refused without running it (draining): try another.
            flight.instance = nil
            flight.triedOn.append(instanceID)
            stats.redispatched += 1
            dispatch(key)
        } else if let service = flight.majordomo, flight.route.count == 1 {
            // An MDP client's request, answered by a mesh service: FINAL.
            forget(key)
            stats.replies += 1
            let body = ((delimiter + 2)..<frames.count).map { frames.bytes($0) }
            replyMajordomo(to: flight.route, service: service, status: header.command == .error ? header.status : nil,
                           body: header.command == .error ? body : (body.isEmpty ? [[]] : body))
        } else {
            forget(key)
            stats.replies += 1
            let result: ZMQSocketActor.SendResult?
            if !flight.partials.isEmpty {
                // Parts came first (only from a broker that was asked for them): one reply.
                let forward = flight.route + [frames.bytes(delimiter), frames.bytes(delimiter + 1)] + flight.partials
                    + ((delimiter + 2)..<frames.count).map { frames.bytes($0) }
                result = frontend?.assumeIsolated { try? $0.send(forward) }
            } else if frames.count == delimiter + 3, let frontend {
                // One body frame (the usual case): header and body straight from the view.
                let route = flight.route
                result = frames.withFrame(delimiter + 1) { header in
                    frames.withFrame(delimiter + 2) { body in
                        frontend.assumeIsolated(passing: (header, body)) { socket, parts in
                            try? socket.sendEnvelope(routing: route, header: parts.0, bodyBytes: parts.1)
                        }
                    }
                }
            } else {
                let forward = (1..<frames.count).map { frames.bytes($0) }
                result = frontend?.assumeIsolated { try? $0.send(forward) }
            }
            if result != .sent && result != .queued { stats.dropped += 1 }
        }
        if let instance = instances[instanceID] { dispatchQueued(for: instance.services) }
        resumeDrainWaitersIfIdle()
    }

    private func backendEvent(_ event: ZMQMonitorEvent) {
        guard let id = instanceByEndpoint[event.endpoint], let instance = instances[id] else { return }
        if event.isUp {
            guard !instance.ready else { return }
            instances[id]?.ready = true
            logger.debug("instance connected", metadata: ["zmesh.instance": "\(id)", "zmesh.endpoint": "\(event.endpoint)"])
            dispatchQueued(for: instance.services)
        } else if event.isDown || event.event == .connectRetried {
            let wasReady = instance.ready
            instances[id]?.ready = false
            if wasReady {
                logger.warning("lost the connection to an instance; re-dispatching its requests", metadata: [
                    "zmesh.instance": "\(id)", "zmesh.in_flight": "\(instance.outstanding)",
                ])
            }
            failOver(from: id)
        }
    }

    /// Re-dispatches the requests in flight at an instance that is gone: idempotent ones to
    /// another instance, others answered `unavailable` (they may have run).
    func failOver(from id: String) {
        instances[id]?.outstanding = 0
        let affected = flights.entries.filter { $0.value.instance == id }.map(\.key).sorted { $0.sequence < $1.sequence }
        for key in affected {
            guard let flight = flights[key] else { continue }
            flight.instance = nil
            flight.triedOn.append(id)
            if flight.header.isIdempotent {
                stats.redispatched += 1
                dispatch(key)
            } else {
                finishWithError(key, status: .unavailable,
                                message: "instance \(id) was lost while it held the request; it is not idempotent so it was not re-sent",
                                mayHaveRun: true)
            }
        }
    }

    // MARK: Registries

    private func lookUp() {
        lookupTimer = nil
        if !registries.isEmpty {
            let socket = registries[nextRegistry % registries.count]
            nextRegistry += 1
            lookupSequence += 1
            var header = Header(command: .request, requestID: RequestID(client: lookupClient, sequence: lookupSequence), name: "mesh.lookup")
            header.budgetMilliseconds = 2_000
            _ = socket.assumeIsolated { $0.sendOrDrop([[], header.encoded(), []]) }
        }
        lookupTimer = loop.schedule(after: configuration.heartbeat.interval / 2) { [weak self] in
            self?.assumeIsolated { $0.lookUp() }
        }
    }

    /// A change event arrived: ask again now (debounced), for the whole picture.
    private func lookUpSoon() {
        guard lookupSoon == nil else { return }
        lookupSoon = loop.schedule(after: .milliseconds(5)) { [weak self] in
            self?.assumeIsolated { core in
                core.lookupSoon = nil
                if let timer = core.lookupTimer { core.loop.cancelTimer(timer) }
                core.lookUp()
            }
        }
    }

    private func fromRegistry(_ frames: [[UInt8]]) {
        guard case .success(let envelope) = Envelope.decode(frames, routed: false, limits: limits),
              envelope.header.command == .reply, envelope.header.requestID.client == lookupClient,
              let body = envelope.body.first,
              let answer = try? JSONDecoder().decode(LookupReply.self, from: Data(body)) else {
            drops.record(.badBody)
            return
        }
        apply(answer.instances.filter { $0.health == .live }, complete: answer.complete)
    }

    /// Makes the instance table match the registry's live instances. An incomplete answer
    /// (from a registry that just started) only adds: it may not have heard the others yet.
    private func apply(_ live: [InstanceInfo], complete: Bool) {
        // Not this broker's own announcement of its workers.
        let live = live.filter { !($0.role == "broker" && $0.node == configuration.name) }
        let wanted = Dictionary(live.map { ($0.instance, $0) }, uniquingKeysWith: { first, _ in first })
        for id in instances.keys.sorted() where complete && wanted[id] == nil && instances[id]?.kind != .worker {
            remove(id, reason: "no longer live in the registry")
        }
        for info in live.sorted(by: { $0.instance < $1.instance }) {
            if instances[info.instance] != nil {
                instances[info.instance]?.services = info.services
                instances[info.instance]?.capacity = info.capacity
                continue
            }
            if let previous = instanceByEndpoint[info.endpoint] { remove(previous, reason: "replaced at its endpoint") }
            add(info)
        }
        rebuildServiceIndex()
        let firstAnswer = !resolved
        resolved = true
        if firstAnswer {
            logger.info("learned the mesh from a registry", metadata: ["zmesh.instances": "\(instances.count)"])
        }
        dispatchQueued(for: Array(queues.keys))
    }

    private func add(_ info: InstanceInfo) {
        guard let backend else { return }
        let routingID = Array(info.instance.utf8)
        do {
            let curveOptions = configuration.curve.map { $0.clientOptions(for: info.endpoint) }
            if case .some(.none) = curveOptions {
                throw SecurityError("no public key is known for the instance at \(info.endpoint)")
            }
            try backend.assumeIsolated { socket in
                try socket.set(.connectRoutingID(routingID))
                if case .some(.some(let options)) = curveOptions { try socket.set(options) }
                try socket.connect(info.endpoint)
            }
        } catch {
            // Once per instance: the registry lists it again at every look-up.
            if unreachableLogged.count > 1_000 { unreachableLogged.removeAll() }
            if unreachableLogged.insert(info.instance).inserted {
                logger.warning("cannot connect to an instance; skipping it", metadata: [
                    "zmesh.instance": "\(info.instance)", "zmesh.endpoint": "\(info.endpoint)", "zmesh.error": "\(error)",
                ])
            }
            return
        }
        instances[info.instance] = Instance(id: info.instance, routingID: routingID, endpoint: info.endpoint,
                                            services: info.services, capacity: info.capacity,
                                            kind: info.role == "broker" ? .broker : .service)
        instanceByEndpoint[info.endpoint] = info.instance
        logger.info("instance added", metadata: ["zmesh.instance": "\(info.instance)", "zmesh.endpoint": "\(info.endpoint)"])
    }

    /// Service name -> every instance that serves it: service nodes, other brokers, workers.
    func rebuildServiceIndex() {
        instancesByService = [:]
        for (id, instance) in instances {
            for service in instance.services { instancesByService[service, default: []].append(id) }
        }
        for service in instancesByService.keys { instancesByService[service]?.sort() }
    }

    func remove(_ id: String, reason: String) {
        guard let instance = instances.removeValue(forKey: id) else { return }
        if instance.kind == .worker {
            workerByRoutingID[instance.routingID] = nil
            if let fd = instance.descriptor, workerByDescriptor[fd] == id { workerByDescriptor[fd] = nil }
        } else {
            if instanceByEndpoint[instance.endpoint] == id { instanceByEndpoint[instance.endpoint] = nil }
            try? backend?.assumeIsolated { try $0.disconnect(instance.endpoint) }
        }
        logger.info("instance removed", metadata: ["zmesh.instance": "\(id)", "zmesh.reason": "\(reason)"])
        instancesByService = instancesByService.mapValues { $0.filter { $0 != id } }
        failOver(from: id)
    }

    // MARK: Deadlines

    func armSweep() {
        guard sweepTimer == nil else { return }
        sweepTimer = loop.schedule(after: .milliseconds(50)) { [weak self] in self?.assumeIsolated { $0.sweep() } }
    }

    /// Ends queued requests past their deadline, and in-flight ones a grace period past it
    /// (this bounds memory, and answers the client, if a reply never comes).
    private func sweep() {
        sweepTimer = nil
        let now = MonotonicTime.now()
        let grace = configuration.lateReplyGrace
        var frozenWorkers: [String] = []
        for (key, flight) in flights.entries {
            guard let deadline = flight.deadline, deadline <= now else { continue }
            if flight.instance == nil {
                unqueue(key, service: flight.service)
                finishWithError(key, status: .deadlineExceeded,
                                message: "the deadline passed while the request waited at broker \(configuration.name)",
                                mayHaveRun: flight.sent > 0)
            } else if deadline.advanced(by: grace) <= now {
                // The instance holding it never answered, even late. Tell the client (an MDP
                // client has no deadline of its own to fall back on): every call ends.
                let holder = flight.instance.flatMap { instances[$0] }
                finishWithError(key, status: .deadlineExceeded,
                                message: "no answer from the instance holding it by its deadline, at broker \(configuration.name)",
                                mayHaveRun: true)
                if let holder, holder.kind == .worker { frozenWorkers.append(holder.id) }
            }
        }
        // A Majordomo worker takes one request at a time: one stuck past its deadline would
        // hold its service's place forever. DISCONNECT lets it start again (RFC 18).
        for id in frozenWorkers { dropFrozenWorker(id) }
        resumeDrainWaitersIfIdle()
        if !flights.isEmpty { armSweep() }
    }

    // MARK: Replies and errors

    /// Keeps PARTIAL bodies for a caller that takes one reply. A worker may send any number of
    /// them: past `maxMessageBytes` in all (the most one reply could carry) the request ends
    /// with `tooLarge` rather than grow the broker without bound.
    func keepPartials(_ body: [[UInt8]], of key: FlightKey, _ flight: Flight) {
        flight.partialBytes += body.reduce(0) { $0 + $1.count }
        guard flight.partialBytes <= configuration.maxMessageBytes else {
            stats.partialsTooLarge += 1
            finishWithError(key, status: .tooLarge,
                            message: "the partial replies passed \(configuration.maxMessageBytes) bytes, the most one reply may carry, at broker \(configuration.name)",
                            mayHaveRun: true)
            return
        }
        flight.partials += body
    }

    func finishWithError(_ key: FlightKey, status: StatusCode, message: String, mayHaveRun: Bool) {
        guard let flight = forget(key) else { return }
        if let id = flight.instance { instances[id]?.outstanding -= 1 }
        reply(to: flight.route, header: flight.header, command: .error, status: status.rawValue, body: Array(message.utf8),
              flags: mayHaveRun ? [.mayHaveRun] : [])
        stats.errors += 1
        resumeDrainWaitersIfIdle()
    }

    /// A queued request handed back unrun: the client may send it elsewhere.
    private func refuse(_ key: FlightKey, reason: String) {
        guard let flight = forget(key) else { return }
        reply(to: flight.route, header: flight.header, command: .error, status: StatusCode.unavailable.rawValue,
              body: Array("\(reason); the request did not run".utf8), flags: [.retryElsewhere])
        stats.errors += 1
    }

    func overload(_ route: [[UInt8]], header: Header, why: String) {
        stats.overloaded += 1
        reply(to: route, header: header, command: .error, status: StatusCode.overloaded.rawValue,
              body: Array("\(why); it did not run".utf8))
    }

    func reply(to route: [[UInt8]], header request: Header, command: Command, status: UInt16, body: [UInt8],
                       flags: Header.Flags = []) {
        if let service = majordomoService(of: request, route: route) {
            replyMajordomo(to: route, service: service, status: command == .reply ? nil : status, body: [body])
            return
        }
        var header = Header(command: command, requestID: request.requestID)
        header.attempt = request.attempt
        header.status = status
        header.flags = flags
        let result = frontend?.assumeIsolated { try? $0.send(Envelope.frames(routing: route, header: header, body: [body])) }
        if result != .sent && result != .queued { stats.dropped += 1 }
    }

    @discardableResult
    func send(toInstance instance: Instance, route: [[UInt8]], header: Header, body: [[UInt8]]) -> Bool {
        if instance.kind == .worker {
            return sendToWorker(instance, header: header, body: body)
        }
        guard let backend else { return false }
        var routing = [[UInt8]]()
        routing.reserveCapacity(route.count + 1)
        routing.append(instance.routingID)
        routing.append(contentsOf: route)
        let result: ZMQSocketActor.SendResult?
        if body.count == 1 {
            let payload = body[0]
            result = header.withEncoded { bytes in
                backend.assumeIsolated(passing: bytes) { socket, bytes in
                    try? socket.sendEnvelope(routing: routing, header: bytes, body: payload)
                }
            }
        } else {
            let frames = routing + [[], header.encoded()] + body
            result = backend.assumeIsolated { try? $0.send(frames) }
        }
        return result == .sent || result == .queued
    }

    /// `kv` for `kv.get`, remembering the last answer (most requests repeat the name before).
    func serviceName(of name: String) -> String {
        if let last = lastServiceName, last.name == name { return last.service }
        let service = ServiceHandlers.serviceName(of: name)
        lastServiceName = (name, service)
        return service
    }

    func drop(_ reason: MalformedReason, peer: [UInt8]) {
        drops.record(reason)
        if malformedLog.shouldLog(peer) {
            logger.warning("dropped malformed message", metadata: ["zmesh.reason": "\(reason.rawValue)", "zmesh.peer": "\(peer.hexString)"])
        }
    }

    func resumeDrainWaitersIfIdle() {
        if flights.isEmpty { resumeDrainWaiters() }
    }

    private func resumeDrainWaiters() {
        let waiters = drainWaiters
        drainWaiters.removeAll()
        for waiter in waiters { waiter.resume() }
    }
}
