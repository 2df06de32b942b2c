import Logging

/// Announces an instance to an ``InstanceDirectory``: each heartbeat becomes one
/// `announce` call, at most one at a time (a beat that comes while one is out replaces the
/// one waiting, so a slow or unreachable store never piles calls up). A failure is logged
/// once until the store answers again.
actor DirectoryAnnouncer<Transport: MeshTransport>: ServiceAnnouncer {
    nonisolated let transport: Transport
    nonisolated var unownedExecutor: UnownedSerialExecutor { transport.unownedExecutor }
    let directory: any InstanceDirectory
    let expiry: Duration
    let logger: Logger
    private var inFlight = false
    private var waiting: Announcement?
    private var failing = false
    private var closed = false
    private var withdrawal: Task<Void, Never>?

    init(transport: Transport, directory: any InstanceDirectory, expiry: Duration, logger: Logger) {
        self.transport = transport
        self.directory = directory
        self.expiry = expiry
        self.logger = logger
    }

    func start() throws {}

    func announce(_ announcement: Announcement) {
        guard !closed else { return }
        guard !inFlight else {
            waiting = announcement
            return
        }
        inFlight = true
        let directory = self.directory, expiry = self.expiry, info = InstanceInfo(announcement)
        Task { [weak self] in
            let failure: String?
            do {
                try await directory.announce(info, expiry: expiry)
                failure = nil
            } catch {
                failure = "\(error)"
            }
            guard let self else { return }
            self.transport.execute { self.assumeIsolated { $0.announced(failure) } }
        }
    }

    private func announced(_ failure: String?) {
        inFlight = false
        if let failure {
            if !failing {
                logger.warning("cannot announce this instance; trying again each heartbeat (a registration made before expires with its lease)",
                               metadata: ["zmesh.directory": "\(directory.name)", "zmesh.error": "\(failure)"])
            }
            failing = true
        } else if failing {
            failing = false
            logger.notice("announcing again", metadata: ["zmesh.directory": "\(directory.name)"])
        }
        if let next = waiting {
            waiting = nil
            announce(next)
        }
    }

    func withdraw(_ announcement: Announcement) {
        waiting = nil
        let directory = self.directory, info = InstanceInfo(announcement), logger = self.logger
        withdrawal = Task {
            do { try await directory.withdraw(info) } catch {
                logger.warning("cannot withdraw this instance; it expires instead",
                               metadata: ["zmesh.directory": "\(directory.name)", "zmesh.error": "\(error)"])
            }
        }
    }

    func close() {
        closed = true
        waiting = nil
    }

    func withdrawn() async {
        await withdrawal?.value
    }
}
