import DequeModule
import Logging
import ZeroMQ

/// The service node's state, isolated to its event loop: the ROUTER socket, requests in
/// progress and queued, the reply cache. Handlers run on the global concurrent executor;
/// only their results come back here to be sent (inline handlers run here, at once).
actor ServiceCore {
    nonisolated let loop: EventLoop
    nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }

    let configuration: ServiceNode.Configuration
    let handlers: ServiceHandlers
    let logger: Logger

    private struct InProgress {
        /// The client it counts against (`perClient`): the route it was admitted from.
        let client: [[UInt8]]
        /// Where its reply goes: the client, and any retry that joined it; empty once cancelled.
        var routes: [[[UInt8]]]
        let header: Header
        var payload: [UInt8]
        let deadline: MonotonicTime?
        let handler: ServiceHandlers.RawHandler
        var task: Task<Void, Never>?
    }

    private var router: ZMQSocketActor?
    private(set) var boundEndpoint: String?
    private var inProgress = IDTable<RequestID, InProgress>()
    /// Requests in progress (running or queued) per client route: one client cannot take every slot.
    private var perClient: [[[UInt8]]: Int] = [:]
    /// The last name looked up and its handler: most requests call the name the one before did.
    private var lastHandler: (name: String, handler: ServiceHandlers.Handler)?
    private var waiting = Deque<RequestID>()
    private var runningCount = 0
    private var cache: ReplyCache
    private var drops = DropCounters(role: "service")
    /// Counted per handler, never per called name: callers choose names (issue 10).
    private var outcomes: OutcomeCounters
    private var malformedLog = RateLimitedLog()
    private var stats = ServiceStats()
    private var sweepTimer: LoopTimerID?
    private var accepting = true
    private var drainWaiters: [CheckedContinuation<Void, Never>] = []
    /// Unique per process start, so registries tell a restart from the instance before it.
    nonisolated let instanceID: String
    private var registrySockets: [ZMQSocketActor] = []
    private var authenticator: ZAPAuthenticator?
    private let refusals = RefusalWatch()
    private var heartbeatTimer: LoopTimerID?
    private var advertisedEndpoint = ""
    private var departed = false

    init(loop: EventLoop, configuration: ServiceNode.Configuration, handlers: ServiceHandlers, logger: Logger) {
        self.loop = loop
        self.configuration = configuration
        self.handlers = handlers
        self.logger = logger
        self.outcomes = OutcomeCounters(label: "rpc.server.requests", maxNames: max(256, handlers.names.count)) {
            [handlers] name in handlers.registeredName(for: name)
        }
        self.cache = ReplyCache(maxEntries: configuration.replyCacheEntries, maxBytes: configuration.replyCacheBytes)
        self.instanceID = "\(configuration.name)-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
    }

    // MARK: Start and stop

    /// Binds the ROUTER and starts serving; returns the bound endpoint (wildcard port resolved).
    func start() throws -> String {
        if let boundEndpoint { return boundEndpoint }
        let socket = try loop.makeSocket(.router)
        let heartbeatMilliseconds = Int32(clamping: configuration.peerHeartbeatInterval.millisecondsClamped)
        if let curve = configuration.curve {
            // The ZAP handler first: without one, libzmq admits every CURVE client.
            let zap = try ZAPAuthenticator(loop: loop, trusted: curve.trusted, logger: logger)
            try zap.assumeIsolated { try $0.start() }
            authenticator = zap
            try socket.set(curve.serverOptions)
        }
        let options: [ZMQSocketOption] = [
            .routerMandatory(true),
            .sendHighWaterMark(configuration.socketHighWaterMark),
            .receiveHighWaterMark(configuration.socketHighWaterMark),
            .maxMessageSize(Int64(configuration.limits.maxMessageBytes)),
            .heartbeatInterval(milliseconds: heartbeatMilliseconds),
            .heartbeatTimeout(milliseconds: heartbeatMilliseconds * 3),
        ]
        try socket.set(options)
        let actor = try ZMQSocketActor(loop: loop, socket: socket)
        if configuration.curve != nil { try refusals.watch(actor, role: "service", logger: logger) }
        try actor.assumeIsolated { router in
            try router.bind(configuration.bind)
            try router.onFrames { [weak self] frames in
                self?.assumeIsolated(passing: frames) { core, frames in core.receive(frames) }
            }
        }
        router = actor
        let endpoint = try actor.assumeIsolated { try $0.lastEndpoint() }
        boundEndpoint = endpoint
        advertisedEndpoint = Self.advertisable(configuration.advertise ?? endpoint, logger: logger)
        try startHeartbeats()
        logger.info("service node listening", metadata: [
            "zmesh.endpoint": "\(endpoint)", "zmesh.handlers": "\(handlers.names.joined(separator: ","))",
            "zmesh.instance": "\(instanceID)", "zmesh.registries": "\(configuration.registries.joined(separator: ","))",
        ])
        return endpoint
    }

    // MARK: Heartbeats

    /// A wildcard host cannot be connected to: announce loopback instead (and say so).
    private static func advertisable(_ endpoint: String, logger: Logger) -> String {
        for wildcard in ["tcp://*:", "tcp://0.0.0.0:"] where endpoint.hasPrefix(wildcard) {
            let fixed = "tcp://127.0.0.1:" + endpoint.dropFirst(wildcard.count)
            logger.warning("bound to every interface; announcing loopback (set advertise to override)",
                           metadata: ["zmesh.announced": "\(fixed)"])
            return fixed
        }
        return endpoint
    }

    /// One DEALER per registry; a HEARTBEAT now and then every interval, from a loop timer,
    /// so busy handlers never delay it.
    private func startHeartbeats() throws {
        guard !configuration.registries.isEmpty else { return }
        for registry in configuration.registries {
            let socket = try loop.makeSocket(.dealer)
            // The routing id is the instance id: a registry takes announcements of an instance
            // only from the connection named after it (one connection, one instance).
            try socket.set([.immediate(true), .sendHighWaterMark(16), .linger(milliseconds: 500),
                            .reconnectInterval(milliseconds: 100), .reconnectIntervalMax(milliseconds: 1000),
                            .routingID(Array(instanceID.utf8))])
            if let curve = configuration.curve {
                guard let options = curve.clientOptions(for: registry) else {
                    throw SecurityError("no public key is known for the registry at \(registry)")
                }
                try socket.set(options)
            }
            let actor = try ZMQSocketActor(loop: loop, socket: socket)
            try actor.assumeIsolated { try $0.connect(registry) }
            registrySockets.append(actor)
        }
        beat()
    }

    private func announcement() -> Announcement {
        Announcement(instance: instanceID, node: configuration.name, endpoint: advertisedEndpoint,
                     services: handlers.services, load: inProgress.count,
                     capacity: configuration.maxConcurrentHandlers,
                     intervalMilliseconds: Int(configuration.heartbeat.interval.millisecondsClamped))
    }

    private func beat() {
        heartbeatTimer = nil
        guard !departed else { return }
        send(.heartbeat)
        heartbeatTimer = loop.schedule(after: configuration.heartbeat.interval) { [weak self] in
            self?.assumeIsolated { $0.beat() }
        }
    }

    private func send(_ command: Command) {
        let header = Header(command: command, requestID: RequestID(client: 0, sequence: 0))
        let frames = [[], header.encoded(), announcement().encoded()]
        for socket in registrySockets { _ = socket.assumeIsolated { $0.sendOrDrop(frames) } }
    }

    /// Tells every registry this instance is leaving, and stops heartbeating.
    private func leaveRegistries() {
        guard !departed else { return }
        departed = true
        if let heartbeatTimer { loop.cancelTimer(heartbeatTimer) }
        heartbeatTimer = nil
        guard !registrySockets.isEmpty else { return }
        send(.disconnect)
        logger.info("left the registries", metadata: ["zmesh.instance": "\(instanceID)"])
    }

    /// Stops taking requests: new ones are refused with `unavailable` (not run, safe to retry elsewhere).
    func stopAccepting() {
        accepting = false
        leaveRegistries()
    }

    /// Suspends until no request is in progress or queued, or `limit` has passed.
    func waitUntilDrained(limit: Duration) async {
        if inProgress.isEmpty { return }
        let timer = loop.schedule(after: limit) { [weak self] in
            self?.assumeIsolated { $0.resumeDrainWaiters() }
        }
        await withCheckedContinuation { drainWaiters.append($0) }
        loop.cancelTimer(timer)
    }

    /// Cancels every handler still running, and closes the socket.
    func close() {
        accepting = false
        for (_, entry) in inProgress.entries { entry.task?.cancel() }
        inProgress.removeAll()
        perClient.removeAll()
        waiting.removeAll()
        if let sweepTimer { loop.cancelTimer(sweepTimer) }
        sweepTimer = nil
        leaveRegistries()
        // Replies written just now (the last drained handlers') still go out.
        router?.assumeIsolated { $0.close(lingering: .seconds(1)) }
        router = nil
        for socket in registrySockets { socket.assumeIsolated { $0.close() } }
        registrySockets.removeAll()
        authenticator?.assumeIsolated { $0.close() }
        authenticator = nil
        resumeDrainWaiters()
    }

    func snapshot() -> ServiceStats {
        var copy = stats
        copy.refusedPeers = refusals.refused
        copy.malformed = drops.snapshot
        copy.running = runningCount
        copy.queued = waiting.count
        return copy
    }

    /// Requests in progress (running or queued), for load reports.
    var load: Int { inProgress.count }

    // MARK: Inbound

    private func receive(_ frames: ZMQReceivedFrames) {
        let envelope: Envelope
        switch Envelope.decode(frames, routed: true, limits: configuration.limits) {
        case .success(let decoded): envelope = decoded
        case .failure(let reason):
            drop(reason, peer: frames.count > 0 ? frames.bytes(0) : [])
            return
        }
        switch envelope.header.command {
        case .request: receiveRequest(envelope)
        case .cancel: receiveCancel(envelope.header.requestID)
        default: drop(.unexpectedCommand, peer: envelope.routing.first ?? [])
        }
    }

    private func drop(_ reason: MalformedReason, peer: [UInt8]) {
        drops.record(reason)
        if malformedLog.shouldLog(peer) {
            logger.warning("dropped malformed message", metadata: [
                "zmesh.reason": "\(reason.rawValue)", "zmesh.peer": "\(peer.hexString)",
            ])
        }
    }

    private func receiveRequest(_ envelope: Envelope) {
        let header = envelope.header
        let id = header.requestID
        stats.requests += 1

        if let cached = cache[id] {
            stats.cacheHits += 1
            send(route: envelope.routing, reply: cached)
            return
        }
        if !inProgress.isEmpty, inProgress[id] != nil {
            stats.duplicatesJoined += 1
            inProgress[id]?.routes.append(envelope.routing)
            return
        }
        guard accepting else {
            replyError(route: envelope.routing, header: header, status: .unavailable,
                       message: "instance \(configuration.name) is shutting down; the request did not run",
                       flags: [.retryElsewhere])
            return
        }
        guard header.budgetMilliseconds > 0 else {
            stats.expired += 1
            replyError(route: envelope.routing, header: header, status: .deadlineExceeded,
                       message: "the deadline passed before the request reached \(configuration.name); it did not run")
            return
        }
        guard let registered = handler(named: header.name) else {
            replyError(route: envelope.routing, header: header, status: .notFound,
                       message: "no handler named \(header.name) at \(configuration.name) (it has \(handlers.names.joined(separator: ", ")))")
            return
        }
        let deadline: MonotonicTime? = header.budgetMilliseconds == Header.noBudget
            ? nil : MonotonicTime.now().advanced(by: .milliseconds(Int64(header.budgetMilliseconds)))
        let payload = envelope.payload
        let handler: ServiceHandlers.RawHandler
        switch registered {
        case .inline(let inline):
            // Runs now, on this thread: nothing to queue, nothing to track.
            stats.handlerRuns += 1
            let context = RequestContext(name: header.name, requestID: id, attempt: Int(header.attempt),
                                         deadline: deadline, traceID: header.traceID, logger: logger)
            let reply = makeReply(for: header, outcome: HandlerOutcome.runInline(inline, payload: payload, context: context),
                                  routes: 1)
            cache.store(id, reply)
            send(route: envelope.routing, reply: reply)
            return
        case .concurrent(let concurrent):
            handler = concurrent
        }

        let client = envelope.routing
        if perClient[client, default: 0] >= configuration.maxInFlightPerClient {
            stats.overloaded += 1
            replyError(route: envelope.routing, header: header, status: .overloaded,
                       message: "this client already has \(configuration.maxInFlightPerClient) requests in progress at \(configuration.name), its limit; it did not run")
            return
        }
        if runningCount < configuration.maxConcurrentHandlers {
            admit(id, InProgress(client: client, routes: [client], header: header, payload: [], deadline: deadline, handler: handler, task: nil))
            launch(id, header: header, payload: payload, deadline: deadline, handler: handler)
        } else if waiting.count < configuration.maxQueuedRequests {
            admit(id, InProgress(client: client, routes: [client], header: header, payload: payload, deadline: deadline, handler: handler, task: nil))
            waiting.append(id)
            armSweep()
        } else {
            stats.overloaded += 1
            replyError(route: envelope.routing, header: header, status: .overloaded,
                       message: "\(configuration.name) has \(runningCount) handlers running and \(waiting.count) requests queued; it did not run")
        }
    }

    private func admit(_ id: RequestID, _ entry: InProgress) {
        inProgress[id] = entry
        perClient[entry.client, default: 0] += 1
    }

    /// Takes a request out of progress, and out of its client's count.
    @discardableResult
    private func release(_ id: RequestID) -> InProgress? {
        guard let entry = inProgress.removeValue(forKey: id) else { return nil }
        let count = (perClient[entry.client] ?? 1) - 1
        perClient[entry.client] = count > 0 ? count : nil
        return entry
    }

    private func handler(named name: String) -> ServiceHandlers.Handler? {
        if let last = lastHandler, last.name == name { return last.handler }
        guard let found = handlers.handler(for: name) else { return nil }
        lastHandler = (name, found)
        return found
    }

    private func receiveCancel(_ id: RequestID) {
        guard let entry = inProgress[id] else { return }
        stats.cancelled += 1
        if let task = entry.task {
            // Its result is dropped when it finishes: the caller stopped waiting.
            task.cancel()
            inProgress[id]?.routes = []
        } else {
            release(id)
            waiting.removeAll { $0 == id }
            resumeDrainWaitersIfIdle()
        }
    }

    // MARK: Running handlers

    private func launch(_ id: RequestID, header: Header, payload: [UInt8], deadline: MonotonicTime?,
                        handler: @escaping ServiceHandlers.RawHandler) {
        runningCount += 1
        stats.handlerRuns += 1
        let context = RequestContext(name: header.name, requestID: id, attempt: Int(header.attempt),
                                     deadline: deadline, traceID: header.traceID, logger: logger)
        let loop = self.loop
        let task = Task.detached { [core = self] in
            let outcome = await HandlerOutcome.run(handler, payload: payload, context: context)
            loop.execute { core.assumeIsolated { $0.finish(id, outcome) } }
        }
        inProgress[id]?.task = task
        if deadline != nil { armSweep() }
    }

    private func finish(_ id: RequestID, _ outcome: HandlerOutcome) {
        runningCount -= 1
        if let entry = release(id) {
            var outcome = outcome
            // Cancelled because its deadline passed: that is what the caller is told.
            if case .failure(StatusCode.cancelled.rawValue, _) = outcome, let deadline = entry.deadline, deadline <= .now() {
                if !entry.routes.isEmpty { stats.stoppedAtDeadline += 1 }
                outcome = .failure(status: StatusCode.deadlineExceeded.rawValue,
                                   message: "the deadline passed while the handler ran at \(configuration.name)")
            }
            let reply = makeReply(for: entry.header, outcome: outcome, routes: entry.routes.count)
            cache.store(id, reply)
            for route in entry.routes { send(route: route, reply: reply) }
        }
        startWaiting()
        resumeDrainWaitersIfIdle()
    }

    /// The REPLY or ERROR (header and body) for a handler's outcome; counts it.
    private func makeReply(for request: Header, outcome: HandlerOutcome, routes: Int) -> CachedReply {
        var header = Header(command: .reply, requestID: request.requestID)
        header.attempt = request.attempt
        switch outcome {
        case .reply(let body):
            stats.replies += UInt64(routes)
            outcomes.recordSuccess(service: request.name)
            return CachedReply(header: header, body: body)
        case .failure(let status, let message):
            outcomes.record(service: request.name, outcome: outcome.outcomeLabel)
            header.command = .error
            header.status = status
            header.flags.insert(.mayHaveRun)
            stats.errors += UInt64(routes)
            return CachedReply(header: header, body: Array(message.utf8))
        }
    }

    private func startWaiting() {
        while runningCount < configuration.maxConcurrentHandlers, let id = waiting.popFirst() {
            guard let entry = inProgress[id] else { continue }
            if let deadline = entry.deadline, deadline <= MonotonicTime.now() {
                expire(id)
                continue
            }
            inProgress[id]?.payload = []
            launch(id, header: entry.header, payload: entry.payload, deadline: entry.deadline, handler: entry.handler)
        }
    }

    private func expire(_ id: RequestID) {
        guard let entry = release(id) else { return }
        stats.expired += UInt64(entry.routes.count)
        for route in entry.routes {
            replyError(route: route, header: entry.header, status: .deadlineExceeded,
                       message: "the deadline passed while the request waited at \(configuration.name); it did not run")
        }
    }

    /// Expires queued requests and cancels running ones whose deadline passed.
    private func armSweep() {
        guard sweepTimer == nil else { return }
        sweepTimer = loop.schedule(after: configuration.sweepInterval) { [weak self] in
            self?.assumeIsolated { $0.sweep() }
        }
    }

    private func sweep() {
        sweepTimer = nil
        let now = MonotonicTime.now()
        var expiredWaiting: [RequestID] = []
        for (id, entry) in inProgress.entries {
            guard let deadline = entry.deadline, deadline <= now else { continue }
            if let task = entry.task { task.cancel() } else { expiredWaiting.append(id) }
        }
        if !expiredWaiting.isEmpty {
            let expired = Set(expiredWaiting)
            waiting.removeAll { expired.contains($0) }
            for id in expiredWaiting { expire(id) }
            resumeDrainWaitersIfIdle()
        }
        if inProgress.entries.contains(where: { $0.value.deadline != nil }) { armSweep() }
    }

    // MARK: Outbound

    private func replyError(route: [[UInt8]], header request: Header, status: StatusCode, message: String,
                            flags: Header.Flags = []) {
        var header = Header(command: .error, requestID: request.requestID)
        header.attempt = request.attempt
        header.status = status.rawValue
        header.flags = flags
        stats.errors += 1
        outcomes.record(service: request.name, outcome: "\(status)")
        send(route: route, reply: CachedReply(header: header, body: Array(message.utf8)))
    }

    private func send(route: [[UInt8]], reply: CachedReply) {
        guard let router else { return }
        let result = reply.header.withEncoded { header in
            router.assumeIsolated(passing: header) { router, header in
                try? router.sendEnvelope(routing: route, header: header, body: reply.body)
            }
        }
        if result == .unroutable || result == .dropped || result == nil { stats.unroutableReplies += 1 }
    }

    private func resumeDrainWaitersIfIdle() {
        if inProgress.isEmpty { resumeDrainWaiters() }
    }

    private func resumeDrainWaiters() {
        let waiters = drainWaiters
        drainWaiters.removeAll()
        for waiter in waiters { waiter.resume() }
    }
}
