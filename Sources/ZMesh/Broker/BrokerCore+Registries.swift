import MeshClock

/// The registries, through a resolver (look-ups of every instance, change events: answers go
/// to the router) and an announcer (this broker's Majordomo workers' services).
extension BrokerCore {
    /// Starts the resolver and the announcer over the configured registries.
    func startRegistries() throws {
        if let directory = configuration.directory {
            announcer = DirectoryAnnouncer(transport: transport, directory: directory, expiry: configuration.heartbeat.expiry,
                                           logger: logger)
            let resolver = DirectoryResolver(transport: transport, directory: directory, timeout: .seconds(2), logger: logger)
            try resolver.assumeIsolated { resolver in
                try resolver.start { [weak self] event in self?.assumeIsolated { $0.resolved(event) } }
            }
            self.resolver = resolver
            return
        }
        guard !configuration.registries.isEmpty else { return }
        let announcer = RegistryAnnouncer(transport: transport, registries: configuration.registries.map(\.endpoint),
                                          instance: announcedInstance, curve: configuration.curve)
        try announcer.assumeIsolated { try $0.start() }
        self.announcer = announcer
        let resolver = RegistryResolver(transport: transport, registries: configuration.registries, curve: configuration.curve,
                                        timeout: .seconds(2), limits: limits)
        try resolver.assumeIsolated { resolver in
            try resolver.start { [weak self] event in self?.assumeIsolated { $0.resolved(event) } }
        }
        self.resolver = resolver
    }

    /// Looks every live instance up, twice per heartbeat interval.
    func lookUp() {
        lookupTimer = nil
        resolver?.assumeIsolated { $0.lookUp(nil) }
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

    /// What the resolver found: an answer makes the router's instances match the live ones;
    /// a change calls for a whole new answer; a failed look-up waits for the next.
    private func resolved(_ event: ResolverEvent) {
        switch event {
        case .answered(nil, let answer):
            var output = Output(core: self)
            router.apply(answer.instances.filter { $0.health == .live }, complete: answer.complete, now: transport.now(), output: &output)
            carryOut(output)
        case .answered, .failed: break
        case .changed: lookUpSoon()
        case .malformed(let reason): drops.record(reason)
        }
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
