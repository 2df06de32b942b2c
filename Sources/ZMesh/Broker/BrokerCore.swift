import Tracing
import Foundation
import Logging
import MeshClock

/// A broker's sockets and timers, isolated to its transport's executor: the front end clients talk to,
/// the back end that reaches service instances, the registries, the Majordomo workers'
/// socket. The routing itself (instances, requests held, queues, deadlines) is a pure
/// ``BrokerRouter`` this actor feeds with what arrives, carrying out what it asks.
///
/// By concern: the front end in `BrokerCore+Clients.swift`, the back end in
/// `BrokerCore+Instances.swift`, registries in `BrokerCore+Registries.swift`, the Majordomo
/// edge in `BrokerCore+Majordomo.swift` and `BrokerCore+MajordomoWorkers.swift`, the router's
/// outputs in `BrokerCore+Output.swift`.
actor BrokerCore<Transport: MeshTransport>: DrainingCore, ListeningCore, ReportsGauges {
    static var role: String { "broker" }

    /// The transport whose executor runs this actor and every socket here.
    nonisolated let transport: Transport
    /// Runs this actor on its transport's executor.
    nonisolated var unownedExecutor: UnownedSerialExecutor { transport.unownedExecutor }

    /// How the broker runs.
    let configuration: BrokerNode.Configuration
    /// Where the broker logs.
    let logger: Logger

    /// Instances, requests held, queues: a pure state machine this actor feeds.
    var router: BrokerRouter

    /// The ROUTER clients (and other brokers) connect to.
    var frontend: Transport.Socket?
    /// The ROUTER that connects to every instance, addressing each by its instance id.
    var backend: Transport.Socket?
    /// When the broker started, for its health's uptime.
    var startedAt: MonotonicTime
    /// The front end's endpoint, wildcard port resolved.
    private(set) var boundEndpoint: String?
    /// Finds the live instances (look-ups and change events); nil without registries.
    var resolver: (any ServiceResolver)?
    /// The next regular look-up.
    var lookupTimer: Transport.Timer?
    /// A look-up soon, after a change event (debounced).
    var lookupSoon: Transport.Timer?

    /// The next sweep, while anything is held.
    private var sweepTimer: Transport.Timer?
    /// Those waiting for every request to end (a graceful stop).
    var drainWaiters = DrainWaiters()
    /// Counts and logs peers refused at the CURVE handshake.
    var refusals = RefusalLog()
    /// Malformed messages dropped, by reason.
    var drops = DropCounters(role: "broker")
    private var gauges = NodeGauges.Broker()
    /// Logs a peer's malformed messages now and then, not each.
    var malformedLog = RateLimitedLog()
    /// Limits for messages from instances, registries and workers.
    let limits: Envelope.Limits
    /// `limits` for requests from clients: one routing hop fewer.
    let clientLimits: Envelope.Limits

    // Majordomo workers (every dialect): see BrokerCore+Majordomo.swift.
    /// The ROUTER Majordomo workers connect to, if configured.
    var workerSocket: Transport.Socket?
    /// The next workers' heartbeat tick.
    var workerTimer: Transport.Timer?
    /// The instance id this broker announces its workers' services under.
    lazy var announcedInstance = "\(configuration.name)-workers-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
    /// Announces the workers' services to the registries; nil without registries.
    var announcer: (any ServiceAnnouncer)?
    /// The services last announced for the workers.
    var announcedServices: [String] = []
    /// Instances already reported as impossible to connect to (logged once each).
    var unreachableLogged: Set<String> = []
    /// Spans of the requests in flight, when tracing (BrokerCore+Tracing.swift).
    var hopSpans: [RequestID: any Span] = [:]

    /// A broker on `transport`; nothing starts until ``start()``.
    init(transport: Transport, configuration: BrokerNode.Configuration, logger: Logger) {
        self.transport = transport
        self.startedAt = transport.now()
        self.configuration = configuration
        self.logger = logger
        self.router = BrokerRouter(configuration: configuration, logger: logger, seed: UInt64.random(in: 0...UInt64.max),
                                   majordomoClientID: UInt64.random(in: 1...UInt64.max))
        var limits = Envelope.Limits()
        limits.maxMessageBytes = configuration.maxMessageBytes
        self.limits = limits
        // The broker adds its own routing id when it forwards, so a client gets one hop fewer:
        // a request the service would drop for too many hops is dropped (and counted) here.
        limits.maxHops -= 1
        self.clientLimits = limits
    }

    // MARK: Start and stop

    func startNode() throws -> [String] { [try start()] }

    func reportGauges() { gauges.report(snapshot()) }

    /// Binds the front end, connects to the registries, takes workers if configured; returns
    /// the bound front-end endpoint.
    func start() throws -> String {
        if let boundEndpoint { return boundEndpoint }
        startedAt = transport.now()
        var peerOptions = SocketOptions()
        peerOptions.routerMandatory = true
        peerOptions.sendHighWaterMark = 100_000
        peerOptions.receiveHighWaterMark = 100_000
        peerOptions.maxMessageBytes = configuration.maxMessageBytes
        peerOptions.peerHeartbeat = configuration.peerHeartbeatInterval
        peerOptions.sendCoalescing = SocketOptions.meshSendCoalescing
        var frontOptions = peerOptions
        if let curve = configuration.curve { frontOptions.security = .curveServer(curve) }
        let (front, endpoint) = try listen(at: configuration.bind, options: frontOptions) { $0.fromClient($1) }
        frontend = front
        boundEndpoint = endpoint
        front.assumeIsolated { socket in
            socket.onLateSendFailure { [weak self] _ in self?.assumeIsolated { $0.router.stats.dropped += 1 } }
        }

        var backOptions = peerOptions
        backOptions.reconnect = (.milliseconds(100), .seconds(1))
        if let curve = configuration.curve { backOptions.security = .curveClient(curve) }
        let back = try transport.assumeIsolated { try $0.makeSocket(.router, options: backOptions) }
        try back.assumeIsolated { socket in
            try socket.onFrames { [weak self] frames in
                self?.assumeIsolated(passing: frames) { core, frames in core.fromService(frames) }
            }
            try socket.onPeerEvent { [weak self] event in
                self?.assumeIsolated { $0.backendEvent(event) }
            }
            socket.onLateSendFailure { [weak self] _ in self?.assumeIsolated { $0.router.stats.dropped += 1 } }
        }
        backend = back

        try startRegistries()
        if let workers = configuration.workers { try startWorkers(at: workers) }
        lookUp()
        logger.info("broker listening", metadata: [
            "zmesh.endpoint": "\(boundEndpoint ?? "")",
            "zmesh.registries": "\(configuration.registries.map(\.endpoint).joined(separator: ","))",
        ])
        scheduleGaugeReports()
        return boundEndpoint ?? configuration.bind
    }

    /// Stops taking requests (new ones are refused so clients use another broker).
    func stopAccepting() {
        var output = Output(core: self)
        router.stopAccepting(output: &output)
        carryOut(output)
    }

    /// True when no request is held.
    var isDrained: Bool { router.isIdle }

    /// Ends every request still held with `unavailable`, and closes the sockets.
    func close() {
        var output = Output(core: self)
        router.closeAll(output: &output)
        carryOut(output)
        for id in Array(hopSpans.keys) { endHop(id, outcome: "closed") }
        stopWorkers()
        for timer in [lookupTimer, lookupSoon, sweepTimer].compactMap({ $0 }) { transport.cancel(timer) }
        lookupTimer = nil
        lookupSoon = nil
        sweepTimer = nil
        // The last replies and the "broker stopped" errors above still go out.
        for socket in [frontend, backend].compactMap({ $0 }) {
            socket.assumeIsolated { $0.close(lingering: .seconds(1)) }
        }
        resolver?.assumeIsolated { $0.close() }
        resolver = nil
        announcer?.assumeIsolated { $0.close() }
        announcer = nil
        frontend = nil
        backend = nil
        drainWaiters.resumeAll()
    }

    /// Counters of what the broker has done, and what it holds and knows now.
    func snapshot() -> BrokerStats {
        var copy = router.snapshot()
        copy.malformed = drops.snapshot
        copy.refusedPeers = refusals.refused
        return copy
    }

    // MARK: Doing what the router says

    /// What the router asked for and the output deferred: a sweep, and waking drain waiters.
    func carryOut(_ output: Output) {
        if output.wantsSweep { armSweep() }
        if output.becameIdle { drainWaiters.resumeAll() }
    }

    /// Sweeps in 50 ms, unless a sweep is already due.
    private func armSweep() {
        guard sweepTimer == nil else { return }
        sweepTimer = transport.schedule(after: .milliseconds(50)) { [weak self] in self?.assumeIsolated { $0.sweep() } }
    }

    /// Ends queued requests past their deadline, and in-flight ones a grace period past it.
    private func sweep() {
        sweepTimer = nil
        var output = Output(core: self)
        router.sweep(now: transport.now(), output: &output)
        carryOut(output)
    }

    /// Counts a malformed message, and logs its peer now and then.
    func drop(_ reason: MalformedReason, peer: [UInt8]) {
        drops.record(reason)
        if malformedLog.shouldLog(peer) {
            logger.warning("dropped malformed message", metadata: ["zmesh.reason": "\(reason.rawValue)", "zmesh.peer": "\(peer.hexString)"])
        }
    }
}
