import DequeModule
import Logging
import MeshClock

/// The service node's shell, isolated to its transport's executor: the ROUTER socket, the
/// registry heartbeats, and the ``ServiceAdmission`` (requests in progress and queued, the
/// reply cache) it feeds. Handlers run on the global concurrent executor; only their results
/// come back here to be sent (inline handlers run here, at once).
actor ServiceCore<Transport: MeshTransport>: DrainingCore, ListeningCore, ReportsGauges {
    static var role: String { "service" }

    nonisolated let transport: Transport
    nonisolated var unownedExecutor: UnownedSerialExecutor { transport.unownedExecutor }

    let configuration: ServiceNode.Configuration
    let handlers: ServiceHandlers
    let logger: Logger

    private(set) var router: Transport.Socket?
    private(set) var boundEndpoint: String?
    /// Which requests run, wait, join or are refused: a pure state machine this actor feeds.
    private var admission: ServiceAdmission<Task<Void, Never>>
    private var drops = DropCounters(role: "service")
    private let gauges = NodeGauges.Service()
    private var malformedLog = RateLimitedLog()
    private var sweepTimer: Transport.Timer?
    var drainWaiters = DrainWaiters()
    /// Unique per process start, so registries tell a restart from the instance before it.
    nonisolated let instanceID: String
    /// Carries the heartbeats to the registries; nil without registries.
    private var announcer: (any ServiceAnnouncer)?
    var refusals = RefusalLog()
    private var heartbeatTimer: Transport.Timer?
    private var advertisedEndpoint = ""
    private var departed = false
    /// When the node started, for its health's uptime.
    private var startedAt: MonotonicTime
    /// Server streams being sent: credit and waiting writes (ServiceCore+Streams.swift).
    var streams = ServerStreams<StreamWriteWaiter>()
    /// Client and bidirectional streams being read (ServiceCore+RequestStreams.swift).
    var requestStreams = RequestStreams<RequestStreamSink>()
    /// Their drops, merged into ``snapshot()``.
    var requestStreamStats = ServiceStats()

    init(transport: Transport, configuration: ServiceNode.Configuration, handlers: ServiceHandlers, logger: Logger) {
        self.transport = transport
        self.startedAt = transport.now()
        self.configuration = configuration
        self.handlers = handlers
        self.logger = logger
        self.admission = ServiceAdmission(
            limits: .init(nodeName: configuration.name, maxConcurrentHandlers: configuration.maxConcurrentHandlers,
                          maxQueuedRequests: configuration.maxQueuedRequests, maxInFlightPerClient: configuration.maxInFlightPerClient,
                          metadata: configuration.metadataLimits),
            handlers: handlers.intercepted(by: configuration.interceptors),
            cache: ReplyCache(maxEntries: configuration.replyCacheEntries, maxBytes: configuration.replyCacheBytes),
            logger: logger)
        self.instanceID = "\(configuration.name)-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
    }

    // MARK: Start and stop

    /// Binds the ROUTER and starts serving; returns the bound endpoint (wildcard port resolved).
    func startNode() throws -> [String] { [try start()] }

    func reportGauges() { gauges.report(running: admission.runningCount, queued: admission.queuedCount) }

    /// Binds the ROUTER and starts serving; returns the bound endpoint (wildcard port resolved).
    func start() throws -> String {
        if let boundEndpoint { return boundEndpoint }
        startedAt = transport.now()
        var options = SocketOptions()
        options.routerMandatory = true
        options.sendHighWaterMark = configuration.socketHighWaterMark
        options.receiveHighWaterMark = configuration.socketHighWaterMark
        options.maxMessageBytes = configuration.limits.maxMessageBytes
        options.peerHeartbeat = configuration.peerHeartbeatInterval
        options.sendCoalescing = SocketOptions.meshSendCoalescing
        if let curve = configuration.curve { options.security = .curveServer(curve) }
        let (socket, endpoint) = try listen(at: configuration.bind, options: options) { $0.receive($1) }
        // A reply held until the end of the loop's turn whose client had gone meanwhile.
        socket.assumeIsolated { router in
            router.onLateSendFailure { [weak self] _ in self?.assumeIsolated { $0.admission.replyUndelivered() } }
        }
        router = socket
        boundEndpoint = endpoint
        advertisedEndpoint = Self.advertisable(configuration.advertise ?? endpoint, logger: logger)
        try startHeartbeats()
        logger.info("service node listening", metadata: [
            "zmesh.endpoint": "\(endpoint)", "zmesh.handlers": "\(handlers.names.joined(separator: ","))",
            "zmesh.instance": "\(instanceID)", "zmesh.registries": "\(configuration.registries.joined(separator: ","))",
        ])
        scheduleGaugeReports()
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

    /// An announcer to the instance directory, or to every registry; a heartbeat now and then
    /// every interval, from a loop timer, so busy handlers never delay it.
    private func startHeartbeats() throws {
        if let directory = configuration.directory {
            announcer = DirectoryAnnouncer(transport: transport, directory: directory, expiry: configuration.heartbeat.expiry,
                                           logger: logger)
        } else {
            guard !configuration.registries.isEmpty else { return }
            let announcer = RegistryAnnouncer(transport: transport, registries: configuration.registries, instance: instanceID,
                                              curve: configuration.curve, linger: .milliseconds(500))
            try announcer.assumeIsolated { try $0.start() }
            self.announcer = announcer
        }
        beat()
    }

    private func announcement() -> Announcement {
        Announcement(instance: instanceID, node: configuration.name, endpoint: advertisedEndpoint,
                     services: handlers.services, load: admission.load,
                     capacity: configuration.maxConcurrentHandlers,
                     intervalMilliseconds: Int(configuration.heartbeat.interval.millisecondsClamped))
    }

    private func beat() {
        heartbeatTimer = nil
        guard !departed else { return }
        let announcement = announcement()
        announcer?.assumeIsolated { $0.announce(announcement) }
        heartbeatTimer = transport.schedule(after: configuration.heartbeat.interval) { [weak self] in
            self?.assumeIsolated { $0.beat() }
        }
    }

    /// Tells every registry this instance is leaving, and stops heartbeating.
    private func leaveRegistries() {
        guard !departed else { return }
        departed = true
        if let heartbeatTimer { transport.cancel(heartbeatTimer) }
        heartbeatTimer = nil
        guard let announcer else { return }
        let announcement = announcement()
        announcer.assumeIsolated { $0.withdraw(announcement) }
        logger.info("left the registries", metadata: ["zmesh.instance": "\(instanceID)"])
    }

    /// Stops taking requests: new ones are refused with `unavailable` (not run, safe to retry elsewhere).
    func stopAccepting() {
        admission.stopAccepting()
        leaveRegistries()
    }

    /// True when no request is in progress or queued.
    var isDrained: Bool { admission.isIdle }

    func finishLeaving() async {
        if let announcer { await announcer.withdrawn() }
    }

    /// Cancels every handler still running, and closes the socket.
    func close() {
        var output = Output(core: self)
        admission.cancelAll(output: &output)
        if let sweepTimer { transport.cancel(sweepTimer) }
        sweepTimer = nil
        leaveRegistries()
        // Replies written just now (the last drained handlers') still go out.
        router?.assumeIsolated { $0.close(lingering: .seconds(1)) }
        router = nil
        announcer?.assumeIsolated { $0.close() }
        announcer = nil
        drainWaiters.resumeAll()
    }

    func snapshot() -> ServiceStats {
        var copy = admission.stats
        copy.refusedPeers = refusals.refused
        copy.malformed = drops.snapshot
        copy.running = admission.runningCount
        copy.queued = admission.queuedCount
        copy.streamPartsDropped = requestStreamStats.streamPartsDropped
        copy.streamOverruns = requestStreamStats.streamOverruns
        return copy
    }

    /// Requests in progress (running or queued), for load reports.
    var load: Int { admission.load }

    // MARK: Inbound

    private func receive(_ frames: Transport.Socket.Received) {
        let envelope: Envelope
        do {
            envelope = try Envelope.decode(frames, routed: true, limits: configuration.limits)
        } catch let reason {
            drop(reason, peer: frames.frameCount > 0 ? frames.frameArray(0) : [])
            return
        }
        var output = Output(core: self)
        switch envelope.header.command {
        case .request where envelope.header.name == NodeHealth.name:
            answerHealth(envelope)
        case .request where envelope.header.name == NodeDescription.name:
            answerDescription(envelope)
        case .request:
            admission.request(envelope.header, payload: envelope.payload, from: envelope.routing, now: transport.now(), output: &output)
        case .credit:
            grantCredit(envelope.header.requestID, Int(envelope.header.status), from: envelope.routing)
        case .part:
            receivePart(envelope.header, payload: envelope.payload, from: envelope.routing)
        case .cancel:
            stopStream(envelope.header.requestID)
            closeRequestStream(envelope.header.requestID, cancelled: true)
            admission.cancel(envelope.header.requestID, output: &output)
            resumeDrainWaitersIfDrained()
        default: drop(.unexpectedCommand, peer: envelope.routing.first ?? [])
        }
    }

    /// `mesh.health`, answered here (not by a handler), even while draining.
    private func answerHealth(_ envelope: Envelope) {
        let health = NodeHealth(status: admission.accepting ? .live : .draining, role: Self.role, node: configuration.name,
                                load: admission.load, capacity: configuration.maxConcurrentHandlers,
                                uptimeSeconds: NodeHealth.seconds(from: startedAt, to: transport.now()))
        var header = Header(command: .reply, requestID: envelope.header.requestID)
        header.attempt = envelope.header.attempt
        _ = router?.assumeIsolated { $0.transmit(Envelope.frames(routing: envelope.routing, header: header, body: [health.encoded])) }
    }

    /// `mesh.describe`: the node's methods, their kinds and types, answered here.
    private func answerDescription(_ envelope: Envelope) {
        let description = NodeDescription(role: Self.role, node: configuration.name, methods: handlers.methods)
        var header = Header(command: .reply, requestID: envelope.header.requestID)
        header.attempt = envelope.header.attempt
        let body = description.encoded
        _ = router?.assumeIsolated { $0.transmit(Envelope.frames(routing: envelope.routing, header: header, body: [body])) }
    }

    private func drop(_ reason: MalformedReason, peer: [UInt8]) {
        drops.record(reason)
        if malformedLog.shouldLog(peer) {
            logger.warning("dropped malformed message", metadata: [
                "zmesh.reason": "\(reason.rawValue)", "zmesh.peer": "\(peer.hexString)",
            ])
        }
    }

    // MARK: Doing what the admission says

    /// A handler's outcome, back on the loop.
    private func finish(_ id: RequestID, _ outcome: HandlerOutcome) {
        let streamed = closeStream(id)
        closeRequestStream(id, cancelled: false)
        var output = Output(core: self)
        admission.finish(id, outcome, now: transport.now(), streamed: streamed, output: &output)
        resumeDrainWaitersIfDrained()
    }

    /// Expires queued requests and cancels running ones whose deadline passed.
    private func armSweep() {
        guard sweepTimer == nil else { return }
        sweepTimer = transport.schedule(after: configuration.sweepInterval) { [weak self] in
            self?.assumeIsolated { $0.sweep() }
        }
    }

    private func sweep() {
        sweepTimer = nil
        var output = Output(core: self)
        admission.sweep(now: transport.now(), output: &output)
        resumeDrainWaitersIfDrained()
    }

    /// The admission's requests, carried out with this node's ROUTER and tasks.
    private struct Output: AdmissionOutput {
        // `unowned(unsafe)` and `Uncounted`: no reference counting. Safe: an output lives only
        // for one event, inside a method of the actor it points to (and of the sockets it
        // holds), which are alive throughout; counted references cost the hot path dearly
        // here, as these objects have weak references and so count through a side table.
        unowned(unsafe) let core: ServiceCore
        let router: Uncounted<Transport.Socket>?

        init(core: isolated ServiceCore) {
            self.core = core
            self.router = core.router.map(Uncounted.init)
        }

        func send(_ reply: CachedReply, to route: [[UInt8]]) -> Bool {
            guard let router else { return false }
            let result = reply.header.withEncoded { header in
                router.with { router in
                    router.assumeIsolated(passing: (route, header, reply.body)) { router, message in
                        router.transmit(routing: message.0, header: message.1, body: message.2)
                    }
                }
            }
            return result.accepted
        }

        func start(_ launch: ServiceLaunch) -> Task<Void, Never> {
            let transport = core.transport
            var streaming = launch
            if let stream = launch.stream {
                streaming.context.streamWriter = core.assumeIsolated {
                    $0.openStream(launch.id, route: stream.route, credit: stream.credit, batches: stream.batches)
                }
            }
            if let route = launch.requestStream {
                streaming.context.requestStream = core.assumeIsolated { $0.openRequestStream(launch.id, route: route) }
            }
            let launch = streaming
            let run: @Sendable () async -> Void = { [core] in
                let outcome = await HandlerOutcome.run(launch.handler, request: launch.request, context: launch.context)
                transport.execute { core.assumeIsolated { $0.finish(launch.id, outcome) } }
            }
            // An inline handler behind interceptors: a task on this loop, no thread hand-off.
            if launch.onLoop, let loop = transport.taskExecutor { return Task(executorPreference: loop, operation: run) }
            return Task.detached(operation: run)
        }

        func cancel(_ job: Task<Void, Never>) { job.cancel() }

        func armSweep() { core.assumeIsolated { $0.armSweep() } }
    }
}
