import Foundation
import Logging
import MeshClock

/// A registry's shell, isolated to its transport's executor: the ROUTER that takes
/// heartbeats and answers look-ups, the PUB that announces changes, and the table.
actor RegistryCore<Transport: MeshTransport>: ListeningCore, ReportsGauges {
    static var role: String { "registry" }

    nonisolated let transport: Transport
    nonisolated var unownedExecutor: UnownedSerialExecutor { transport.unownedExecutor }

    let configuration: RegistryNode.Configuration
    let logger: Logger

    private var router: Transport.Socket?
    private var publisher: Transport.Socket?
    private(set) var boundEndpoint: String?
    private(set) var publishEndpoint: String?
    private var table: RegistryTable
    private var expiryTimer: Transport.Timer?
    private var expiryAt = MonotonicTime.distantFuture
    private var drops = DropCounters(role: "registry")
    private let gauges = NodeGauges.Registry()
    private var malformedLog = RateLimitedLog()
    private var stats = RegistryStats()
    var refusals = RefusalLog()
    private var forbiddenLog = RateLimitedLog()
    /// When each connection's last heartbeat was taken: more than one per quarter interval is
    /// a flood, dropped before its JSON is decoded.
    private var lastHeartbeat: [[UInt8]: MonotonicTime] = [:]
    /// Encoded look-up answers, dropped as instances change.
    private var answers: LookupCache
    /// When this registry started: until every live instance has had time to heartbeat to it,
    /// its answers are marked incomplete (see `warm`).
    private var startedAt: MonotonicTime

    /// True once the registry has been up long enough to have heard every live instance: the
    /// silence it would evict an instance for (at least 2 s), counted from when that instance
    /// can first reach it, after its announcer's reconnect back-off. Without the back-off, a
    /// registry restarted on a busy machine called itself complete before instances with a
    /// slow heartbeat had reached it, and brokers dropped those instances and failed calls.
    private var warm: Bool {
        let settle = max(configuration.heartbeat.expiry, .seconds(2)) + AnnouncerReconnect.longestWait
        return startedAt.advanced(by: settle) <= transport.now()
    }

    init(transport: Transport, configuration: RegistryNode.Configuration, logger: Logger) {
        self.transport = transport
        self.startedAt = transport.now()
        self.configuration = configuration
        self.logger = logger
        self.table = RegistryTable(maxInstances: configuration.maxInstances)
        self.answers = LookupCache(maxAge: configuration.heartbeat.interval / 2)
    }

    /// The ROUTER endpoint, then the PUB one if any.
    func startNode() throws -> [String] { [try start()] + [publishEndpoint].compactMap { $0 } }

    func start() throws -> String {
        if let boundEndpoint { return boundEndpoint }
        startedAt = transport.now()
        // TCP keep-alive drops a vanished node's connection within about 2 s (1 s of silence,
        // one unanswered probe a second later), which frees its routing id (its instance id)
        // for the node's next connection. Not ZMTP heartbeats: libzmq cancels a timer by a
        // linear search of all its timers, once per peer per heartbeat, which costs a core at
        // 10,000 connections; the kernel's keep-alive costs nothing while nodes heartbeat.
        var options = SocketOptions()
        options.routerMandatory = true
        options.maxMessageBytes = configuration.maxMessageBytes
        options.sendHighWaterMark = 10_000
        options.receiveHighWaterMark = 10_000
        options.tcpKeepalive = (idle: .seconds(1), interval: .seconds(1), count: 1)
        if configuration.readCoalescing > .zero { options.readCoalescing = configuration.readCoalescing }
        if let curve = configuration.curve { options.security = .curveServer(curve) }
        let (socket, endpoint) = try listen(at: configuration.bind, options: options) { $0.receive($1) }
        router = socket
        boundEndpoint = endpoint
        if let publish = configuration.publish {
            var options = SocketOptions()
            options.sendHighWaterMark = 10_000
            if let curve = configuration.curve { options.security = .curveServer(curve) }
            let pub = try transport.assumeIsolated { try $0.makeSocket(.publisher, options: options) }
            publishEndpoint = try pub.assumeIsolated { pub in
                try pub.bind(publish)
                return try pub.lastEndpoint()
            }
            publisher = pub
        }
        logger.info("registry listening", metadata: [
            "zmesh.endpoint": "\(boundEndpoint ?? "")", "zmesh.publish": "\(publishEndpoint ?? "-")",
            "zmesh.expiry_ms": "\(configuration.heartbeat.expiry.millisecondsClamped)",
        ])
        scheduleGaugeReports()
        return boundEndpoint ?? configuration.bind
    }

    func close() {
        if let expiryTimer { transport.cancel(expiryTimer) }
        expiryTimer = nil
        router?.assumeIsolated { $0.close() }
        publisher?.assumeIsolated { $0.close() }
        router = nil
        publisher = nil
    }

    func reportGauges() { gauges.report(table.countsByHealth) }

    func snapshot() -> RegistryStats {
        var copy = stats
        copy.malformed = drops.snapshot
        copy.liveInstances = table.live.count
        copy.refusedPeers = refusals.refused
        return copy
    }

    func instances(of service: String?) -> [InstanceInfo] {
        table.liveInstances(of: service, now: transport.now())
    }

    // MARK: Inbound

    private func receive(_ frames: Transport.Socket.Received) {
        let envelope: Envelope
        do {
            envelope = try Envelope.decode(frames, routed: true, limits: Envelope.Limits(maxHops: 4, maxBodyFrames: 4,
                                                                                    maxMessageBytes: configuration.maxMessageBytes))
        } catch let reason {
            drop(reason, peer: frames.frameCount > 0 ? frames.frameArray(0) : [])
            return
        }
        // Who the ZAP handler said the peer is (nil without CURVE).
        let peer = frames.peerName(frame: envelope.routing.count + 1)
        switch envelope.header.command {
        case .heartbeat, .disconnect:
            // A keep-alive's flood check is its instance's last beat, in the one table look-up
            // it takes; an announcement's, the connection's last one.
            if envelope.header.command == .heartbeat, let load = Announcement.keepAliveLoad(envelope.body) {
                receiveKeepAlive(envelope, load: load, from: peer)
                return
            }
            if envelope.header.command == .heartbeat, !takeHeartbeat(from: envelope.routing.first ?? []) { return }
            guard let announcement = Announcement.decode(envelope.body) else {
                drop(.badBody, peer: envelope.routing.first ?? [])
                return
            }
            // One connection announces one instance: the one it is named after. So a peer
            // cannot register many phantom instances, nor speak for another's.
            guard envelope.routing.count == 1, envelope.routing[0].elementsEqual(announcement.instance.utf8) else {
                stats.spoofed += 1
                if forbiddenLog.shouldLog(envelope.routing.first ?? []) {
                    logger.warning("refused an announcement: not from the connection named after its instance", metadata: [
                        "zmesh.peer": "\((envelope.routing.first ?? []).hexString)", "zmesh.announced_instance": "\(announcement.instance)",
                    ])
                }
                return
            }
            guard allowed(announcement, from: peer) else { return }
            if envelope.header.command == .heartbeat {
                if receiveHeartbeat(announcement), announcement.keepAlives == true {
                    // Taken: from now on this connection may send keep-alives.
                    reply(to: envelope, command: .heartbeat, status: 0, body: nil)
                }
            } else {
                receiveDisconnect(announcement)
            }
        case .request: receiveRequest(envelope)
        case .cancel: break   // look-ups are instant: nothing to cancel
        default: drop(.unexpectedCommand, peer: envelope.routing.first ?? [])
        }
    }

    private func drop(_ reason: MalformedReason, peer: [UInt8]) {
        drops.record(reason)
        if malformedLog.shouldLog(peer) {
            logger.warning("dropped malformed message", metadata: ["zmesh.reason": "\(reason.rawValue)", "zmesh.peer": "\(peer.hexString)"])
        }
    }

    /// False (and counted) if this connection sent an announcement, or its instance any
    /// beat, less than a quarter interval ago.
    private func takeHeartbeat(from peer: [UInt8]) -> Bool {
        let now = transport.now()
        let gap = configuration.heartbeat.interval / 4
        let lastBeat = table.live[String(decoding: peer, as: UTF8.self)]?.lastSeen
        let tooSoon = { (last: MonotonicTime?) in last.map { $0.advanced(by: gap) > now } ?? false }
        if tooSoon(lastHeartbeat[peer]) || tooSoon(lastBeat) {
            floodDropped(from: peer)
            return false
        }
        if lastHeartbeat.count >= 2 * configuration.maxInstances { lastHeartbeat.removeAll(keepingCapacity: true) }
        lastHeartbeat[peer] = now
        return true
    }

    private func floodDropped(from peer: [UInt8]) {
        stats.floodDropped += 1
        if malformedLog.shouldLog(peer) {
            logger.warning("dropped heartbeats: too many from one connection", metadata: ["zmesh.peer": "\(peer.hexString)"])
        }
    }

    /// With a heartbeat policy (CURVE on): only the service node itself, by its key, may
    /// announce itself, and only its own services.
    private func allowed(_ announcement: Announcement, from peer: String?) -> Bool {
        guard let policy = configuration.heartbeatPolicy else { return true }
        if let peer, peer == announcement.node, let services = policy[peer],
           services.contains("*") ? announcement.role == "broker" : Set(announcement.services).isSubset(of: services) {
            return true
        }
        stats.forbidden += 1
        if forbiddenLog.shouldLog(Array((peer ?? "?").utf8)) {
            logger.warning("refused an announcement: not from that service node's key", metadata: [
                "zmesh.peer": "\(peer ?? "unauthenticated")", "zmesh.announced_node": "\(announcement.node)",
                "zmesh.announced_services": "\(announcement.services.joined(separator: ","))",
            ])
        }
        return false
    }

    /// A keep-alive: the announcement this connection last sent, with a new load. From a
    /// connection with no live instance (a registry that restarted, or one that evicted it),
    /// answered `[] [HEARTBEAT, status 404]`: send the whole announcement.
    private func receiveKeepAlive(_ envelope: Envelope, load: Int, from peer: String?) {
        guard envelope.routing.count == 1 else {
            stats.spoofed += 1
            return
        }
        let instance = String(decoding: envelope.routing[0], as: UTF8.self)
        if configuration.heartbeatPolicy != nil, let entry = table.live[instance], entry.announcement.node != peer {
            // Only the key that announced the instance may keep it alive.
            stats.forbidden += 1
            return
        }
        switch table.keepAlive(instance, load: load, now: transport.now(), minimumGap: configuration.heartbeat.interval / 4) {
        case .taken: break
        case .tooSoon:
            floodDropped(from: envelope.routing[0])
            return
        case .unknown:
            // Asked at most once per quarter interval per connection, as announcements are taken.
            guard takeHeartbeat(from: envelope.routing[0]) else { return }
            stats.announcementsAsked += 1
            reply(to: envelope, command: .heartbeat, status: StatusCode.notFound.rawValue, body: nil)
            return
        }
        stats.heartbeats += 1
        stats.keepAlives += 1
        if expiryTimer == nil { armExpiry() }
    }

    /// Takes a whole announcement; false if refused (the table is full).
    @discardableResult
    private func receiveHeartbeat(_ announcement: Announcement) -> Bool {
        let now = transport.now()
        let isNew = table.live[announcement.instance] == nil
        guard let change = table.heartbeat(announcement, now: now) else {
            stats.refused += 1
            if malformedLog.shouldLog(Array("refused".utf8)) {
                logger.warning("registry full: heartbeat refused", metadata: [
                    "zmesh.instance": "\(announcement.instance)", "zmesh.max_instances": "\(configuration.maxInstances)",
                ])
            }
            return false
        }
        stats.heartbeats += 1
        if isNew {
            logger.info("instance joined", metadata: [
                "zmesh.instance": "\(announcement.instance)", "zmesh.endpoint": "\(announcement.endpoint)",
                "zmesh.services": "\(announcement.services.joined(separator: ","))",
            ])
        }
        publish(change)
        // A heartbeat never brings the earliest expiry forward: a timer already armed stands.
        if expiryTimer == nil { armExpiry() }
        return true
    }

    private func receiveDisconnect(_ announcement: Announcement) {
        let change = table.leave(announcement.instance, now: transport.now())
        guard !change.isEmpty else { return }
        stats.departures += 1
        logger.info("instance left", metadata: ["zmesh.instance": "\(announcement.instance)"])
        publish(change)
    }

    private func receiveRequest(_ envelope: Envelope) {
        let header = envelope.header
        let now = transport.now()
        let argument = envelope.body.first.map { String(decoding: $0, as: UTF8.self) } ?? ""
        let instances: [InstanceInfo]
        switch header.name {
        case "mesh.lookup":
            stats.lookups += 1
            if let cached = answers.answer(for: argument, now: now) {
                reply(to: envelope, command: .reply, status: 0, body: cached)
                return
            }
            let body = encodedAnswer(table.liveInstances(of: argument.isEmpty ? nil : argument, now: now))
            if warm { answers.store(body, for: argument, now: now) }
            reply(to: envelope, command: .reply, status: 0, body: body)
            return
        case "mesh.status":
            instances = table.allInstances(now: now)
        case NodeHealth.name:
            let health = NodeHealth(status: .live, role: Self.role, node: configuration.name, load: table.live.count,
                                    uptimeSeconds: NodeHealth.seconds(from: startedAt, to: now))
            reply(to: envelope, command: .reply, status: 0, body: health.encoded)
            return
        case NodeDescription.name:
            let methods = ["mesh.lookup", "mesh.status", NodeHealth.name, NodeDescription.name]
                .map { MethodDescription(name: $0, kind: .unary) }
            let description = NodeDescription(role: Self.role, node: configuration.name, methods: methods)
            reply(to: envelope, command: .reply, status: 0, body: description.encoded)
            return
        default:
            reply(to: envelope, command: .error, status: StatusCode.notFound.rawValue,
                  body: Array("registry \(configuration.name) answers mesh.lookup, mesh.status, mesh.health and mesh.describe, not \(header.name)".utf8))
            return
        }
        stats.lookups += 1
        reply(to: envelope, command: .reply, status: 0, body: encodedAnswer(instances))
    }

    private func encodedAnswer(_ instances: [InstanceInfo]) -> [UInt8] {
        let answer = LookupReply(registry: configuration.name, instances: instances, complete: warm)
        return (try? Array(JSONEncoder().encode(answer))) ?? []
    }

    /// Answers `envelope` with one body frame, or none if `body` is nil.
    private func reply(to envelope: Envelope, command: Command, status: UInt16, body: [UInt8]?) {
        var header = Header(command: command, requestID: envelope.header.requestID)
        header.attempt = envelope.header.attempt
        header.status = status
        let frames = Envelope.frames(routing: envelope.routing, header: header, body: body.map { [$0] } ?? [])
        _ = router?.assumeIsolated { $0.transmit(frames) }
    }

    // MARK: Eviction and change events

    /// One timer at the earliest expiry, so an instance is evicted as soon as its silence
    /// reaches `liveness x interval`, not at the next periodic sweep.
    private func armExpiry() {
        guard let next = table.nextExpiry(expiry: configuration.heartbeat.expiry) else { return }
        guard next < expiryAt else { return }
        if let expiryTimer { transport.cancel(expiryTimer) }
        expiryAt = next
        expiryTimer = transport.schedule(at: next) { [weak self] in self?.assumeIsolated { $0.evict() } }
    }

    private func evict() {
        expiryTimer = nil
        expiryAt = .distantFuture
        let (change, evicted) = table.evictExpired(now: transport.now(), expiry: configuration.heartbeat.expiry)
        for announcement in evicted {
            stats.evictions += 1
            logger.warning("instance evicted: no heartbeat", metadata: [
                "zmesh.instance": "\(announcement.instance)", "zmesh.endpoint": "\(announcement.endpoint)",
                "zmesh.silence_ms": "\(configuration.heartbeat.expiry.millisecondsClamped)",
            ])
        }
        publish(change)
        armExpiry()
    }

    private func publish(_ change: RegistryTable.Change) {
        answers.invalidate(change)
        guard let publisher, !change.isEmpty else { return }
        let now = transport.now()
        for service in change.services.sorted() {
            let body = encodedAnswer(table.liveInstances(of: service, now: now))
            if warm { answers.store(body, for: service, now: now) }
            _ = publisher.assumeIsolated { $0.transmit([Array("svc:\(service)".utf8), body]) }
            stats.published += 1
        }
    }
}
