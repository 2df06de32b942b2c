import Foundation
import MeshClock

/// The registries: a DEALER per registry for look-ups, a SUB per registry for change events
/// (answers go to the router), and an announcer of this broker's Majordomo workers.
extension BrokerCore {
    /// Connects to every configured registry.
    func startRegistries() throws {
        var options = SocketOptions()
        options.immediate = true
        options.sendHighWaterMark = 16
        options.reconnect = (.milliseconds(100), .seconds(1))
        var subscription = SocketOptions()
        subscription.subscription = Array("svc:".utf8)
        subscription.maxMessageBytes = 1 << 20
        subscription.reconnect = (.milliseconds(100), .seconds(1))
        if let curve = configuration.curve {
            options.security = .curveClient(curve)
            subscription.security = .curveClient(curve)
        }
        if !configuration.registries.isEmpty {
            let announcer = RegistryAnnouncer(transport: transport, registries: configuration.registries.map(\.endpoint),
                                              instance: announcedInstance, curve: configuration.curve)
            try announcer.assumeIsolated { try $0.start() }
            self.announcer = announcer
        }
        for registry in configuration.registries {
            let socket = try transport.assumeIsolated { try $0.makeSocket(.dealer, options: options) }
            try socket.assumeIsolated { dealer in
                try dealer.onMessage { [weak self] frames in self?.assumeIsolated { $0.fromRegistry(frames) } }
                try dealer.connect(registry.endpoint)
            }
            registries.append(socket)
            if let publish = registry.publish {
                let sub = try transport.assumeIsolated { try $0.makeSocket(.subscriber, options: subscription) }
                try sub.assumeIsolated { socket in
                    try socket.onMessage { [weak self] _ in self?.assumeIsolated { $0.lookUpSoon() } }
                    try socket.connect(publish)
                }
                subscribers.append(sub)
            }
        }
    }

    /// Asks one registry (in turn) for every live instance, twice per heartbeat interval.
    func lookUp() {
        lookupTimer = nil
        if !registries.isEmpty {
            let socket = registries[nextRegistry % registries.count]
            nextRegistry += 1
            lookupSequence += 1
            var header = Header(command: .request, requestID: RequestID(client: lookupClient, sequence: lookupSequence), name: "mesh.lookup")
            header.budgetMilliseconds = 2_000
            _ = socket.assumeIsolated { $0.sendOrDrop([[], header.encoded(), []]) }
        }
        lookupTimer = transport.schedule(after: configuration.heartbeat.interval / 2) { [weak self] in
            self?.assumeIsolated { $0.lookUp() }
        }
    }

    /// A change event arrived: ask again now (debounced), for the whole picture.
    private func lookUpSoon() {
        guard lookupSoon == nil else { return }
        lookupSoon = transport.schedule(after: .milliseconds(5)) { [weak self] in
            self?.assumeIsolated { core in
                core.lookupSoon = nil
                if let timer = core.lookupTimer { core.transport.cancel(timer) }
                core.lookUp()
            }
        }
    }

    /// A look-up answer: the router makes its instances match the live ones.
    private func fromRegistry(_ frames: [[UInt8]]) {
        guard case .success(let envelope) = Envelope.decode(frames, routed: false, limits: limits),
              envelope.header.command == .reply, envelope.header.requestID.client == lookupClient,
              let body = envelope.body.first,
              let answer = try? JSONDecoder().decode(LookupReply.self, from: Data(body)) else {
            drops.record(.badBody)
            return
        }
        var output = Output(core: self)
        router.apply(answer.instances.filter { $0.health == .live }, complete: answer.complete, now: transport.now(), output: &output)
        carryOut(output)
    }

    // MARK: Announcing workers

    /// Tells the registries this broker serves its workers' services at its front end, so
    /// other brokers route those names here: when they change, and every interval (`force`)
    /// while there are workers.
    func announceWorkersIfChanged(_ workers: WorkerSummary, force: Bool = false) {
        guard force || workers.services != announcedServices else { return }
        if workers.services.isEmpty {
            if !announcedServices.isEmpty { announce(workers, services: announcedServices, leaving: true) }
        } else {
            announce(workers, services: workers.services, leaving: false)
        }
        announcedServices = workers.services
    }

    /// A HEARTBEAT (or, `leaving`, a DISCONNECT) to every registry for `services`.
    func announce(_ workers: WorkerSummary, services: [String], leaving: Bool) {
        guard let front = boundEndpoint, !services.isEmpty else { return }
        let announcement = Announcement(
            instance: announcedInstance, node: configuration.name, endpoint: Endpoint.connectable(front),
            services: services, load: workers.load, capacity: max(1, workers.count),
            intervalMilliseconds: Int(configuration.heartbeat.interval.millisecondsClamped), role: "broker")
        announcer?.assumeIsolated { announcer in
            if leaving { announcer.withdraw(announcement) } else { announcer.announce(announcement) }
        }
    }
}
