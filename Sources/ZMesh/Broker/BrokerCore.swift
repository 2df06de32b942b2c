import Foundation
import Logging
import ZeroMQ
import MeshClock

/// A broker's sockets and timers, isolated to its event loop: the front end clients talk to,
/// the back end that reaches service instances, the registries, the Majordomo workers'
/// socket. The routing itself (instances, requests held, queues, deadlines) is a pure
/// ``BrokerRouter`` this actor feeds with what arrives, carrying out what it asks.
///
/// By concern: the front end in `BrokerCore+Clients.swift`, the back end in
/// `BrokerCore+Instances.swift`, registries in `BrokerCore+Registries.swift`, the Majordomo
/// edge in `BrokerCore+Majordomo.swift`, the router's outputs in `BrokerCore+Output.swift`.
actor BrokerCore {
    /// The loop whose thread owns every socket here.
    nonisolated let loop: EventLoop
    /// Runs this actor on its loop.
    nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }

    /// How the broker runs.
    let configuration: BrokerNode.Configuration
    /// Where the broker logs.
    let logger: Logger

    /// Instances, requests held, queues: a pure state machine this actor feeds.
    var router: BrokerRouter

    /// The ROUTER clients (and other brokers) connect to.
    var frontend: ZMQSocketActor?
    /// The ROUTER that connects to every instance, addressing each by its instance id.
    var backend: ZMQSocketActor?
    /// The front end's endpoint, wildcard port resolved.
    private(set) var boundEndpoint: String?
    /// A DEALER per registry: look-ups and the workers' announcement.
    var registries: [ZMQSocketActor] = []
    /// A SUB per registry that publishes changes.
    var subscribers: [ZMQSocketActor] = []
    /// The registry the next look-up goes to (in turn).
    var nextRegistry = 0
    /// The client part of look-up request ids: answers to other ids are not ours.
    let lookupClient = UInt64.random(in: 1...UInt64.max)
    /// The last look-up's sequence number.
    var lookupSequence: UInt64 = 0
    /// The next regular look-up.
    var lookupTimer: LoopTimerID?
    /// A look-up soon, after a change event (debounced).
    var lookupSoon: LoopTimerID?

    /// The next sweep, while anything is held.
    private var sweepTimer: LoopTimerID?
    /// Those waiting for every request to end (a graceful stop).
    private var drainWaiters: [CheckedContinuation<Void, Never>] = []
    /// Checks CURVE clients' keys, when CURVE is on.
    private var gate = CurveGate()
    /// Counts peers refused at the CURVE handshake.
    /// Malformed messages dropped, by reason.
    var drops = DropCounters(role: "broker")
    /// Logs a peer's malformed messages now and then, not each.
    var malformedLog = RateLimitedLog()
    /// Limits for messages from instances, registries and workers.
    let limits: Envelope.Limits
    /// `limits` for requests from clients: one routing hop fewer.
    let clientLimits: Envelope.Limits

    // Majordomo (MDP/0.2) workers: see BrokerCore+Majordomo.swift.
    /// The ROUTER Majordomo workers connect to, if configured.
    var workerSocket: ZMQSocketActor?
    /// The next workers' heartbeat tick.
    var workerTimer: LoopTimerID?
    /// The instance id this broker announces its workers' services under.
    lazy var announcedInstance = "\(configuration.name)-workers-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
    /// The services last announced for the workers.
    var announcedServices: [String] = []
    /// Instances already reported as impossible to connect to (logged once each).
    var unreachableLogged: Set<String> = []

    /// A broker on `loop`; nothing starts until ``start()``.
    init(loop: EventLoop, configuration: BrokerNode.Configuration, logger: Logger) {
        self.loop = loop
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

    /// Binds the front end, connects to the registries, takes workers if configured; returns
    /// the bound front-end endpoint.
    func start() throws -> String {
        if let boundEndpoint { return boundEndpoint }
        let heartbeat = Int32(clamping: configuration.peerHeartbeatInterval.millisecondsClamped)
        let peerOptions: [ZMQSocketOption] = [
            .routerMandatory(true), .sendHighWaterMark(100_000), .receiveHighWaterMark(100_000),
            .maxMessageSize(Int64(configuration.maxMessageBytes)),
            .heartbeatInterval(milliseconds: heartbeat), .heartbeatTimeout(milliseconds: heartbeat * 3),
        ]
        let frontActor = try gate.bindRouter(configuration.bind, on: loop, options: peerOptions, curve: configuration.curve,
                                             role: "broker", logger: logger) { [weak self] frames in
            self?.assumeIsolated(passing: frames) { core, frames in core.fromClient(frames) }
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

        try startRegistries()
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
        var output = Output(core: self)
        router.stopAccepting(output: &output)
        carryOut(output)
    }

    /// Suspends until no request is held, or `limit` has passed; true if any was held.
    func waitUntilDrained(limit: Duration) async -> Bool {
        if router.isIdle { return false }
        let timer = loop.schedule(after: limit) { [weak self] in self?.assumeIsolated { $0.resumeDrainWaiters() } }
        await withCheckedContinuation { drainWaiters.append($0) }
        loop.cancelTimer(timer)
        return true
    }

    /// Ends every request still held with `unavailable`, and closes the sockets.
    func close() {
        var output = Output(core: self)
        router.closeAll(output: &output)
        carryOut(output)
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
        gate.close()
        frontend = nil
        backend = nil
        registries.removeAll()
        subscribers.removeAll()
        resumeDrainWaiters()
    }

    /// Counters of what the broker has done, and what it holds and knows now.
    func snapshot() -> BrokerStats {
        var copy = router.snapshot()
        copy.malformed = drops.snapshot
        copy.refusedPeers = gate.refused
        return copy
    }

    // MARK: Doing what the router says

    /// What the router asked for and the output deferred: a sweep, and waking drain waiters.
    func carryOut(_ output: Output) {
        if output.wantsSweep { armSweep() }
        if output.becameIdle { resumeDrainWaiters() }
    }

    /// Sweeps in 50 ms, unless a sweep is already due.
    private func armSweep() {
        guard sweepTimer == nil else { return }
        sweepTimer = loop.schedule(after: .milliseconds(50)) { [weak self] in self?.assumeIsolated { $0.sweep() } }
    }

    /// Ends queued requests past their deadline, and in-flight ones a grace period past it.
    private func sweep() {
        sweepTimer = nil
        var output = Output(core: self)
        router.sweep(now: .now(), output: &output)
        carryOut(output)
    }

    /// Counts a malformed message, and logs its peer now and then.
    func drop(_ reason: MalformedReason, peer: [UInt8]) {
        drops.record(reason)
        if malformedLog.shouldLog(peer) {
            logger.warning("dropped malformed message", metadata: ["zmesh.reason": "\(reason.rawValue)", "zmesh.peer": "\(peer.hexString)"])
        }
    }

    /// Wakes everyone waiting in ``waitUntilDrained(limit:)``.
    private func resumeDrainWaiters() {
        let waiters = drainWaiters
        drainWaiters.removeAll()
        for waiter in waiters { waiter.resume() }
    }
}
