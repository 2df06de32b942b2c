import Logging
import MeshClock

/// The client's shell, isolated to its transport's executor: one DEALER per peer, the
/// resolver that looks services up (with registry discovery), the timers, and the decoding
/// of what arrives. What to do with calls is the
/// ``CallTable``'s business (a pure state machine); this actor feeds it and carries out what
/// it asks through ``Output``.
///
/// Calls enter through `start(_:_:)`, queued onto the executor by ``MeshClient`` without an
/// actor hop; replies resume the caller's continuation straight from the executor.
actor ClientCore<Transport: MeshTransport> {
    nonisolated let transport: Transport
    nonisolated var unownedExecutor: UnownedSerialExecutor { transport.unownedExecutor }

    nonisolated let clientID: UInt64
    let configuration: MeshClient.Configuration
    let logger: Logger

    var table: CallTable<Transport.Socket>
    private var drops = DropCounters(role: "client")
    private var malformedLog = RateLimitedLog()
    /// Looks services up and reports their changes (registry discovery only).
    private var resolver: (any ServiceResolver)?
    private var sweepTimer: Transport.Timer?
    private var refreshTimer: Transport.Timer?

    init(transport: Transport, clientID: UInt64, configuration: MeshClient.Configuration, logger: Logger) {
        self.transport = transport
        self.clientID = clientID
        self.configuration = configuration
        self.logger = logger
        self.table = CallTable(clientID: clientID, configuration: configuration, logger: logger)
    }

    // MARK: Calls

    /// Calls `name`, as ``MeshClient/call(_:_:options:)`` does; `seq` is unique per client.
    /// From any thread: the call starts on the executor, at once if the caller runs there.
    /// `nonisolated(nonsending)`, as ``MeshClient/call(_:_:options:)`` is: no hop to the global
    /// executor on the way in, each of which asks the runtime for the task's preferred executor
    /// under the task's status lock.
    nonisolated(nonsending) func call(_ name: String, _ payload: [UInt8], metadata: Metadata, options: CallOptions,
                          sequence seq: UInt64) async throws(MeshError) -> MeshReply {
        try checkStart(name, metadata: metadata, what: "call")
        let result = await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: CallRequest.Continuation) in
                if Task.isCancelled {
                    continuation.resume(returning: .failure(MeshError(.cancelled, service: name, message: "the calling task was cancelled")))
                    return
                }
                let call = CallRequest(
                    completion: .caller(continuation), name: name, payload: payload,
                    timeout: options.timeout, idempotent: options.idempotent, maxAttempts: options.maxAttempts,
                    metadata: metadata, now: transport.now())
                if transport.isCurrent {
                    // The caller runs on the client's executor (task executor preference): start now,
                    // handing the table its entry (a reference), the request moved into it.
                    assumeIsolated(passing: (seq, PendingCall(consume call))) { core, started in core.start(started.0, started.1) }
                } else {
                    transport.execute { self.assumeIsolated { $0.start(seq, call) } }
                }
            }
        } onCancel: {
            transport.execute { self.assumeIsolated { $0.cancel(seq) } }
        }
        return try result.get()
    }

    // MARK: Events in

    func startIfNeeded() {
        guard !table.started, !table.closed else { return }
        switch configuration.discovery {
        case .registries(let registries):
            startResolver(registries)
            scheduleRefresh()
        case .directory(let directory):
            startResolver(DirectoryResolver(transport: transport, directory: directory, timeout: configuration.lookupTimeout,
                                            logger: logger))
            scheduleRefresh()
        case .endpoints, .brokers:
            break
        }
        var output = Output(core: self)
        table.startIfNeeded(output: &output)
    }

    func start(_ seq: UInt64, _ request: consuming CallRequest) {
        start(seq, PendingCall(request))
    }

    func start(_ seq: UInt64, _ call: PendingCall) {
        if !table.started, !table.closed { startIfNeeded() }
        var output = Output(core: self)
        table.start(seq, call, output: &output)
    }

    func cancel(_ seq: UInt64) {
        var output = Output(core: self)
        table.cancel(seq, now: transport.now(), output: &output)
    }

    private func connectionEvent(_ id: ConnectionID, _ event: PeerEvent) {
        var output = Output(core: self)
        if event.kind == .connected {
            table.connectionUp(id, output: &output)
        } else {
            // Replies that arrived before the connection went (a draining node's last ones)
            // count first; only then is what is still in flight failed over.
            if let link = table.connections[id]?.link { link.assumeIsolated { $0.receivePending() } }
            var refused = false
            if case .refused = event.kind { refused = true }
            let endpoint = table.connections[id]?.endpoint ?? "?"
            table.connectionDown(id, refusal: refused ? "\(endpoint) refused this client's CURVE handshake (is its key on the mesh's allow-list?)" : nil,
                                 event: event.detail, output: &output)
        }
    }

    private func receive(_ frames: Transport.Socket.Received, from id: ConnectionID) {
        let envelope: Envelope
        do {
            envelope = try Envelope.decode(frames, routed: false, limits: configuration.limits)
        } catch let reason {
            drop(reason, from: id)
            return
        }
        let header = envelope.header
        if header.command == .credit {
            var output = Output(core: self)
            return table.requestCredit(header, from: id, output: &output)
        }
        guard header.command == .reply || header.command == .error else {
            drop(.unexpectedCommand, from: id)
            return
        }
        var output = Output(core: self)
        // An ERROR's text, made here rather than in a closure: a closure capturing `envelope`
        // copied all of it (a retain and release of each array and string) per reply.
        let message = header.command == .error ? envelope.body.first.map { String(decoding: $0, as: UTF8.self) } ?? "" : ""
        table.receive(header, payload: envelope.payload, message: message, from: id, output: &output)
    }

    private func drop(_ reason: MalformedReason, from id: ConnectionID) {
        drops.record(reason)
        let endpoint = table.connections[id]?.endpoint ?? "?"
        if malformedLog.shouldLog(Array(endpoint.utf8)) {
            logger.warning("dropped malformed message", metadata: ["zmesh.reason": "\(reason.rawValue)", "zmesh.endpoint": "\(endpoint)"])
        }
    }

    // MARK: Registry change events and refreshes

    /// The resolver over `registries`; its answers and change events go to the table. One that
    /// cannot start is logged, and its look-ups fail.
    private func startResolver(_ registries: [RegistryAddress]) {
        startResolver(RegistryResolver(transport: transport, registries: registries, curve: configuration.curve,
                                       timeout: configuration.lookupTimeout, limits: configuration.limits,
                                       peerHeartbeat: configuration.peerHeartbeatInterval))
    }

    /// Starts `resolver`; its answers and change events go to the table.
    private func startResolver(_ resolver: some ServiceResolver) {
        do {
            try resolver.assumeIsolated { resolver in
                try resolver.start { [weak self] event in self?.assumeIsolated { $0.resolved(event) } }
            }
        } catch {
            logger.warning("cannot reach the registries", metadata: ["zmesh.error": "\(error)"])
        }
        self.resolver = resolver
    }

    /// What the resolver found, handed to the table.
    private func resolved(_ event: ResolverEvent) {
        var output = Output(core: self)
        switch event {
        case .answered(let service?, let answer): table.lookupFinished(service, .success(answer), output: &output)
        case .failed(let service?, let error): table.lookupFinished(service, .failure(error), output: &output)
        case .answered(nil, _), .failed(nil, _): break   // the client looks names up, never everything
        case .changed(let service, let answer): table.changeEvent(service, answer, output: &output)
        case .malformed(let reason): drops.record(reason)
        }
    }

    /// Re-asks registries about every known service: the safety net under change events.
    private func scheduleRefresh() {
        refreshTimer = transport.schedule(after: configuration.refreshInterval) { [weak self] in
            self?.assumeIsolated { core in
                var output = Output(core: core)
                core.table.refresh(output: &output)
                core.scheduleRefresh()
            }
        }
    }

    private func sweep() {
        sweepTimer = nil
        var output = Output(core: self)
        table.sweep(now: transport.now(), output: &output)
    }

    // MARK: Status and shutdown

    func snapshot() -> ClientStats {
        var copy = table.stats
        copy.malformed = drops.snapshot
        copy.inFlight = table.inFlight
        return copy
    }

    /// Endpoint -> whether its connection is up.
    func connectionStates() -> [String: Bool] { table.connectionStates() }

    /// Live endpoints the client knows for `service`, nil if not resolved yet.
    func knownEndpoints(of service: String) -> [String]? { table.knownEndpoints(of: service) }

    func close() {
        guard !table.closed else { return }
        var output = Output(core: self)
        table.close(output: &output)
        for timer in [sweepTimer, refreshTimer].compactMap({ $0 }) { transport.cancel(timer) }
        sweepTimer = nil
        refreshTimer = nil
        resolver?.assumeIsolated { $0.close() }
        resolver = nil
    }

    // MARK: Doing what the table says

    /// The call table's requests, carried out with DEALER sockets and loop timers.
    struct Output: CallOutput {
        // `unowned(unsafe)`: no reference counting. Safe: an output lives only for one event,
        // inside a method of the actor it points to (and of the sockets it holds), which are
        // alive throughout; counted references cost the hot path dearly here, as these objects
        // have weak references and so count through a side table.
        unowned(unsafe) let core: ClientCore

        init(core: isolated ClientCore) { self.core = core }

        var now: MonotonicTime { core.transport.now() }

        func send(_ header: Header, payload: [UInt8], via link: Transport.Socket) -> Bool {
            // Used uncounted, for the reason above: the socket outlives this call.
            let link = Uncounted(link)
            let result = header.withEncoded { bytes in
                link.with { link in
                    link.assumeIsolated(passing: (bytes, payload)) { socket, message in
                        socket.transmit(routing: [], header: message.0, body: message.1)
                    }
                }
            }
            return result.accepted
        }

        func connect(_ id: ConnectionID, to endpoint: String) -> Transport.Socket? {
            core.assumeIsolated { $0.openSocket(id, to: endpoint) }
        }

        func close(_ link: Transport.Socket) { link.assumeIsolated { $0.close() } }

        func reconnect(_ link: Transport.Socket, to endpoint: String) -> Bool {
            link.assumeIsolated { dealer -> Bool in
                do {
                    try dealer.disconnect(endpoint)
                    try dealer.connect(endpoint)
                    return true
                } catch {
                    return false
                }
            }
        }

        func discardOutbound(_ link: Transport.Socket) { _ = link.assumeIsolated { $0.discardOutbound() } }

        /// Asks the resolver; its answer comes back through ``ClientCore/resolved(_:)``.
        func lookUp(_ service: String) {
            core.assumeIsolated { core in
                guard let resolver = core.resolver else { return }
                resolver.assumeIsolated { $0.lookUp(service) }
            }
        }

        func armSweep(at time: MonotonicTime) {
            core.assumeIsolated { core in
                if let timer = core.sweepTimer { core.transport.cancel(timer) }
                core.sweepTimer = core.transport.schedule(at: time) { [weak core] in core?.assumeIsolated { $0.sweep() } }
            }
        }
    }

    /// A DEALER to `endpoint` whose events and replies reach the table as connection `id`.
    private func openSocket(_ id: ConnectionID, to endpoint: String) -> Transport.Socket? {
        do {
            var options = SocketOptions()
            options.immediate = true
            options.sendHighWaterMark = configuration.socketHighWaterMark
            options.receiveHighWaterMark = configuration.socketHighWaterMark
            options.peerHeartbeat = configuration.peerHeartbeatInterval
            options.sendCoalescing = SocketOptions.meshSendCoalescing
            options.reconnect = (configuration.reconnectBackOff.first, configuration.reconnectBackOff.longest)
            if let curve = configuration.curve { options.security = .curveClient(curve) }
            let actor = try transport.assumeIsolated { try $0.makeSocket(.dealer, options: options) }
            try actor.assumeIsolated { dealer in
                try dealer.onPeerEvent { [weak self] event in
                    self?.assumeIsolated { $0.connectionEvent(id, event) }
                }
                try dealer.onFrames { [weak self] frames in
                    self?.assumeIsolated(passing: (frames, id)) { core, received in core.receive(received.0, from: received.1) }
                }
                try dealer.connect(endpoint)
            }
            return actor
        } catch {
            logger.error("cannot connect", metadata: ["zmesh.endpoint": "\(endpoint)", "zmesh.error": "\(error)"])
            return nil
        }
    }
}
