import Foundation
import MeshClock

/// A ``ServiceResolver`` for the built-in registries: a DEALER per registry for `mesh.lookup`
/// requests (request ids of its own, answers matched by id), a SUB per registry that
/// publishes change events (`svc:` prefix, at most 1 MiB each).
///
/// A look-up goes to the next registry whose connection is up (in turn), waits while none
/// is up but one is connecting, and moves to another registry when its registry's
/// connection is lost, refuses it (`retry elsewhere`), stays silent for its share of the
/// timeout, or answers that it knows no live instance while its answers are incomplete (it
/// started too recently to have heard every instance) and another registry is up; it fails
/// once the whole timeout has passed, or at once if no registry can be reached (`forbidden`
/// if one refused this node's CURVE handshake).
actor RegistryResolver<Transport: MeshTransport>: ServiceResolver {
    /// The transport whose executor runs this actor and its sockets.
    nonisolated let transport: Transport
    /// Runs this actor on its transport's executor.
    nonisolated var unownedExecutor: UnownedSerialExecutor { transport.unownedExecutor }

    /// Where the registries listen.
    let registries: [RegistryAddress]
    /// How long a look-up may take, retries at other registries included.
    let timeout: Duration
    /// Limits for the answers.
    let limits: Envelope.Limits
    /// The DEALERs' options.
    private let dealerOptions: SocketOptions
    /// The SUBs' options.
    private let subscriberOptions: SocketOptions

    /// Where events go, once started.
    private var handler: ((ResolverEvent) -> Void)?
    /// One per registry, in configuration order.
    private var links: [RegistryLink<Transport.Socket>] = []
    /// A SUB per registry that publishes changes.
    private var subscribers: [Transport.Socket] = []
    /// Look-ups in progress, by sequence number.
    private var lookups: [UInt64: RegistryLookup<Transport.Timer>] = [:]
    /// The client part of the look-ups' request ids: answers to other ids are not ours.
    private let client = UInt64.random(in: 1...UInt64.max)
    /// The last look-up's sequence number.
    private var sequence: UInt64 = 0
    /// The registry the next look-up tries first (in turn).
    private var nextRegistry = 0
    /// True inside ``lookUp(_:)``: events then wait for the executor's next turn, so the
    /// owner never hears of a look-up from inside its own call.
    private var deferring = false

    /// A resolver over `registries`; CURVE as a client if `curve` is set; `peerHeartbeat`
    /// probes idle connections to the registries (the transport's default if nil).
    init(transport: Transport, registries: [RegistryAddress], curve: CurveSettings?, timeout: Duration,
         limits: Envelope.Limits = .default, peerHeartbeat: Duration? = nil) {
        self.transport = transport
        self.registries = registries
        self.timeout = timeout
        self.limits = limits
        var dealer = SocketOptions()
        dealer.immediate = true
        dealer.sendHighWaterMark = 16
        dealer.reconnect = (.milliseconds(100), .seconds(1))
        dealer.peerHeartbeat = peerHeartbeat
        var subscriber = SocketOptions()
        subscriber.subscription = Array("svc:".utf8)
        subscriber.maxMessageBytes = 1 << 20
        subscriber.reconnect = (.milliseconds(100), .seconds(1))
        if let curve {
            dealer.security = .curveClient(curve)
            subscriber.security = .curveClient(curve)
        }
        self.dealerOptions = dealer
        self.subscriberOptions = subscriber
    }

    // MARK: Start and stop

    /// Connects a DEALER to every registry, and a SUB to every one that publishes changes.
    func start(_ handler: @escaping (ResolverEvent) -> Void) throws {
        guard self.handler == nil else { return }
        self.handler = handler
        for (index, registry) in registries.enumerated() {
            let socket = try transport.assumeIsolated { [dealerOptions] in try $0.makeSocket(.dealer, options: dealerOptions) }
            try socket.assumeIsolated { dealer in
                try dealer.onPeerEvent { [weak self] event in self?.assumeIsolated { $0.linkEvent(index, event) } }
                try dealer.onMessage { [weak self] frames in self?.assumeIsolated { $0.answer(frames) } }
                try dealer.connect(registry.endpoint)
            }
            links.append(RegistryLink(socket: socket, endpoint: registry.endpoint))
            if let publish = registry.publish {
                let sub = try transport.assumeIsolated { [subscriberOptions] in
                    try $0.makeSocket(.subscriber, options: subscriberOptions)
                }
                try sub.assumeIsolated { sub in
                    try sub.onMessage { [weak self] frames in self?.assumeIsolated { $0.changeEvent(frames) } }
                    try sub.connect(publish)
                }
                subscribers.append(sub)
            }
        }
    }

    /// Closes every socket and forgets every look-up: no event after this.
    func close() {
        handler = nil
        for lookup in lookups.values { if let timer = lookup.timer { transport.cancel(timer) } }
        lookups.removeAll()
        for socket in links.map(\.socket) + subscribers { socket.assumeIsolated { $0.close() } }
        links.removeAll()
        subscribers.removeAll()
    }

    // MARK: Look-ups

    /// Asks a registry for `service`'s live instances (every instance if nil).
    func lookUp(_ service: String?) {
        // One waiting for a registry already asks the same question.
        if lookups.values.contains(where: { $0.service == service && $0.registry == nil }) { return }
        sequence += 1
        let seq = sequence
        let deadline = transport.now().advanced(by: timeout)
        lookups[seq] = RegistryLookup(service: service, deadline: deadline)
        let wasDeferring = deferring
        deferring = true
        defer { deferring = wasDeferring }
        dispatch(seq)
    }

    /// Sends look-up `seq` to the best registry, waits for one, or fails it.
    private func dispatch(_ seq: UInt64) {
        guard var lookup = lookups[seq] else { return }
        let now = transport.now()
        if let timer = lookup.timer { transport.cancel(timer) }
        lookup.timer = nil
        lookup.registry = nil
        lookups[seq] = lookup
        guard now < lookup.deadline, lookup.attempts <= links.count else {
            return fail(seq, MeshError(.timeout, service: lookup.service ?? "mesh", message: "no registry answered within \(timeout)"))
        }
        guard let index = choose(avoiding: lookup.tried) else {
            if links.contains(where: { $0.state == .connecting }) {
                // Wait for a connection, up to the deadline.
                lookup.timer = transport.schedule(at: lookup.deadline) { [weak self] in self?.assumeIsolated { $0.dispatch(seq) } }
                lookups[seq] = lookup
                return
            }
            if let refused = links.first(where: \.refused) {
                return fail(seq, MeshError(.forbidden, service: lookup.service ?? "mesh",
                                           message: "\(refused.endpoint) refused this client's CURVE handshake (is its key on the mesh's allow-list?)"))
            }
            let message = links.isEmpty ? "no registry is configured"
                                        : "no registry is reachable: \(links.map(\.endpoint).joined(separator: ", "))"
            return fail(seq, MeshError(.unavailable, service: lookup.service ?? "mesh", message: message))
        }
        nextRegistry = index + 1
        lookup.attempts += 1
        lookup.tried.append(index)
        var header = Header(command: .request, requestID: RequestID(client: client, sequence: seq), name: "mesh.lookup")
        header.attempt = UInt8(clamping: lookup.attempts - 1)
        header.flags.insert(.idempotent)
        header.budgetMilliseconds = UInt32(clamping: (now.nanoseconds(until: lookup.deadline) + 999_999) / 1_000_000)
        let payload = Array((lookup.service ?? "").utf8)
        let socket = links[index].socket
        let sent = header.withEncoded { bytes in
            socket.assumeIsolated(passing: (bytes, payload)) { $0.transmit(routing: [], header: $1.0, body: $1.1) }
        }
        guard sent.accepted else {
            lookups[seq] = lookup
            return dispatch(seq)
        }
        lookup.registry = index
        // Its share of the time, then another registry's turn.
        let share = timeout / max(1, links.count)
        let retryAt = min(now.advanced(by: share), lookup.deadline)
        lookup.timer = transport.schedule(at: retryAt) { [weak self] in self?.assumeIsolated { $0.dispatch(seq) } }
        lookups[seq] = lookup
    }

    /// The next registry in turn whose connection is up, preferring those not tried yet.
    private func choose(avoiding tried: [Int]) -> Int? {
        guard !links.isEmpty else { return nil }
        let order = (0..<links.count).map { (nextRegistry + $0) % links.count }.filter { links[$0].state == .up }
        return order.first(where: { !tried.contains($0) }) ?? order.first
    }

    /// A registry's REPLY or ERROR.
    private func answer(_ frames: [[UInt8]]) {
        let envelope: Envelope
        do {
            envelope = try Envelope.decode(frames, routed: false, limits: limits)
        } catch let reason {
            return emit(.malformed(reason))
        }
        let header = envelope.header
        guard header.requestID.client == client, let lookup = lookups[header.requestID.sequence] else { return }   // late
        let seq = header.requestID.sequence
        let service = lookup.service ?? "mesh"
        switch header.command {
        case .reply:
            guard let body = envelope.body.first, let reply = try? JSONDecoder().decode(LookupReply.self, from: Data(body)) else {
                emit(.malformed(.badBody))
                return fail(seq, MeshError(.unavailable, service: service, message: "a registry sent an answer that does not decode"))
            }
            if !reply.complete, let service = lookup.service, !reply.lists(liveInstanceOf: service),
               let other = choose(avoiding: lookup.tried), !lookup.tried.contains(other) {
                // A registry still settling after its start knows no instance yet: another may.
                return dispatch(seq)
            }
            finish(seq, .answered(service: lookup.service, reply))
        case .error where header.flags.contains(.retryElsewhere):
            dispatch(seq)
        case .error:
            let text = envelope.body.first.map { String(decoding: $0, as: UTF8.self) } ?? ""
            fail(seq, MeshError(status: header.status, service: service, message: text, mayHaveRun: false))
        default:
            emit(.malformed(.unexpectedCommand))
        }
    }

    /// Ends look-up `seq` with `error`.
    private func fail(_ seq: UInt64, _ error: MeshError) {
        finish(seq, .failed(service: lookups[seq]?.service, error))
    }

    /// Ends look-up `seq`, telling the owner `event`.
    private func finish(_ seq: UInt64, _ event: ResolverEvent) {
        guard let lookup = lookups.removeValue(forKey: seq) else { return }
        if let timer = lookup.timer { transport.cancel(timer) }
        emit(event)
    }

    // MARK: Connections and change events

    /// A registry connection's event: up, waiting look-ups go; down, its look-ups go elsewhere.
    private func linkEvent(_ index: Int, _ event: PeerEvent) {
        guard links.indices.contains(index) else { return }
        if event.kind == .connected {
            links[index].state = .up
            links[index].refused = false
        } else {
            if case .refused = event.kind { links[index].refused = true }
            guard links[index].state != .down else { return }
            links[index].state = .down
        }
        // Those waiting for a connection, and those on the lost one.
        let affected = lookups.filter { $0.value.registry == nil || $0.value.registry == index }.map(\.key).sorted()
        for seq in affected { dispatch(seq) }
    }

    /// `[svc:NAME] [answer]` from a registry's PUB.
    private func changeEvent(_ frames: [[UInt8]]) {
        guard frames.count == 2, frames[0].starts(with: Array("svc:".utf8)),
              let answer = try? JSONDecoder().decode(LookupReply.self, from: Data(frames[1])) else {
            return emit(.malformed(.badBody))
        }
        emit(.changed(service: String(decoding: frames[0].dropFirst(4), as: UTF8.self), answer))
    }

    /// Hands `event` to the owner: now, or on the executor's next turn inside ``lookUp(_:)``.
    private func emit(_ event: ResolverEvent) {
        guard deferring else {
            handler?(event)
            return
        }
        transport.execute { [weak self] in self?.assumeIsolated { $0.handler?(event) } }
    }
}

/// A ``RegistryResolver``'s connection to one registry.
struct RegistryLink<Socket> {
    /// Whether a connection carries look-ups now.
    enum State {
        /// Not up yet (the first attempt).
        case connecting
        /// Up: look-ups go here.
        case up
        /// Lost or failed; the transport keeps reconnecting.
        case down
    }

    /// The DEALER.
    let socket: Socket
    /// The registry's endpoint.
    let endpoint: String
    /// Whether it is up.
    var state = State.connecting
    /// The registry refused this node's CURVE handshake.
    var refused = false
}

/// A look-up in progress.
struct RegistryLookup<Timer> {
    /// What is looked up (nil: every service).
    let service: String?
    /// When it fails.
    let deadline: MonotonicTime
    /// Registries asked, in order (by index).
    var tried: [Int] = []
    /// Times sent.
    var attempts = 0
    /// The registry whose answer it waits for; nil while waiting for a connection.
    var registry: Int?
    /// Its retry or deadline timer.
    var timer: Timer?
}
