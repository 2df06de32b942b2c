import Logging

/// Finds instances through an ``InstanceDirectory``: it follows the directory's live
/// instances, answers look-ups from what it holds, and reports each service whose instances
/// changed. When the directory cannot be reached it keeps the last instances it had (calls go
/// on to them), logs a warning once, and follows again with a growing pause (0.1 to 5 s).
/// Look-ups made before the first answer wait for it, up to `timeout`.
actor DirectoryResolver<Transport: MeshTransport>: ServiceResolver {
    nonisolated let transport: Transport
    nonisolated var unownedExecutor: UnownedSerialExecutor { transport.unownedExecutor }
    let directory: any InstanceDirectory
    let timeout: Duration
    let logger: Logger
    private var handler: ((ResolverEvent) -> Void)?
    private var byService: [String: [InstanceInfo]] = [:]
    private var all: [InstanceInfo] = []
    private var ready = false
    private var waiting: [String?] = []
    private var waitTimer: Transport.Timer?
    private var lastFailure: String?
    private var following: Task<Void, Never>?
    private var closed = false

    init(transport: Transport, directory: any InstanceDirectory, timeout: Duration, logger: Logger) {
        self.transport = transport
        self.directory = directory
        self.timeout = timeout
        self.logger = logger
    }

    func start(_ handler: @escaping (ResolverEvent) -> Void) throws {
        self.handler = handler
        let directory = self.directory, transport = self.transport
        following = Task { [weak self] in
            let owner = self
            var pause = Duration.milliseconds(100)
            while !Task.isCancelled {
                do {
                    for try await instances in directory.follow() {
                        pause = .milliseconds(100)
                        transport.execute { owner?.assumeIsolated { $0.apply(instances) } }
                    }
                } catch {
                    let text = "\(error)"
                    transport.execute { owner?.assumeIsolated { $0.lost(text) } }
                }
                try? await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(5))
            }
        }
    }

    func lookUp(_ service: String?) {
        guard !closed else { return }
        if ready {
            transport.execute { [weak self] in self?.assumeIsolated { $0.answer(service) } }
            return
        }
        waiting.append(service)
        if waitTimer == nil {
            waitTimer = transport.schedule(after: timeout) { [weak self] in self?.assumeIsolated { $0.failWaiting() } }
        }
    }

    func close() {
        closed = true
        following?.cancel()
        following = nil
        if let waitTimer { transport.cancel(waitTimer) }
        waitTimer = nil
        handler = nil
    }

    // MARK: Inside

    private func apply(_ instances: [InstanceInfo]) {
        guard !closed else { return }
        if lastFailure != nil {
            logger.notice("following the instance directory again", metadata: ["zmesh.directory": "\(directory.name)"])
            lastFailure = nil
        }
        var next: [String: [InstanceInfo]] = [:]
        for instance in instances {
            for service in instance.services { next[service, default: []].append(instance) }
        }
        let changed = Set(next.keys).union(byService.keys).filter { next[$0] != byService[$0] }
        byService = next
        all = instances
        if !ready {
            ready = true
            if let waitTimer { transport.cancel(waitTimer) }
            waitTimer = nil
            let pending = waiting
            waiting = []
            for service in pending { answer(service) }
        }
        for service in changed.sorted() { handler?(.changed(service: service, reply(byService[service] ?? []))) }
    }

    private func lost(_ failure: String) {
        guard !closed else { return }
        if lastFailure == nil {
            logger.warning("lost the instance directory; calls go on to the instances last known", metadata: [
                "zmesh.directory": "\(directory.name)", "zmesh.error": "\(failure)", "zmesh.instances": "\(all.count)",
            ])
        }
        lastFailure = failure
    }

    private func answer(_ service: String?) {
        guard !closed else { return }
        handler?(.answered(service: service, reply(service.map { byService[$0] ?? [] } ?? all)))
    }

    private func failWaiting() {
        waitTimer = nil
        let pending = waiting
        waiting = []
        let reason = lastFailure.map { ": \($0)" } ?? ""
        for service in pending {
            handler?(.failed(service: service, MeshError(.unavailable, service: service ?? "mesh",
                                                         message: "\(directory.name) gave no instances within \(timeout)\(reason)")))
        }
    }

    private func reply(_ instances: [InstanceInfo]) -> LookupReply {
        LookupReply(registry: directory.name, instances: instances, complete: true)
    }
}
