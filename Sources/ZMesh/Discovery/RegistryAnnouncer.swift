/// A ``ServiceAnnouncer`` for the built-in registries: one DEALER per registry, named after
/// the announced instance, sending `[] [HEARTBEAT] [announcement]` (or DISCONNECT) to each
/// with `sendOrDrop` (a heartbeat that cannot go now would be stale by the time a queue sent
/// it).
///
/// The DEALER's routing id is the instance id: a registry takes announcements of an instance
/// only from the connection named after it (one connection, one instance; PROTOCOL.md).
actor RegistryAnnouncer<Transport: MeshTransport>: ServiceAnnouncer {
    /// The transport whose executor runs this actor and its sockets.
    nonisolated let transport: Transport
    /// Runs this actor on its transport's executor.
    nonisolated var unownedExecutor: UnownedSerialExecutor { transport.unownedExecutor }

    /// The registries' ROUTER endpoints.
    let registries: [String]
    /// How the DEALERs are made (routing id, queue bounds, reconnection, security).
    let options: SocketOptions
    /// One DEALER per registry, once started.
    private var sockets: [Transport.Socket] = []

    /// An announcer of `instance` to `registries`, with CURVE as a client if `curve` is set;
    /// `linger` is how long a closed socket still tries to send its last messages (the
    /// transport's default if nil).
    init(transport: Transport, registries: [String], instance: String, curve: CurveSettings?, linger: Duration? = nil) {
        self.transport = transport
        self.registries = registries
        var options = SocketOptions()
        options.immediate = true
        options.sendHighWaterMark = 16
        options.linger = linger
        options.reconnect = (.milliseconds(100), .seconds(1))
        options.routingID = Array(instance.utf8)
        if let curve { options.security = .curveClient(curve) }
        self.options = options
    }

    /// Connects a DEALER to every registry (once).
    func start() throws {
        guard sockets.isEmpty else { return }
        for registry in registries {
            let socket = try transport.assumeIsolated { [options] in try $0.makeSocket(.dealer, options: options) }
            try socket.assumeIsolated { try $0.connect(registry) }
            sockets.append(socket)
        }
    }

    /// Sends a HEARTBEAT with `announcement` to every registry.
    func announce(_ announcement: Announcement) { send(.heartbeat, announcement) }

    /// Sends a DISCONNECT with `announcement` to every registry.
    func withdraw(_ announcement: Announcement) { send(.disconnect, announcement) }

    /// Closes every DEALER.
    func close() {
        for socket in sockets { socket.assumeIsolated { $0.close() } }
        sockets.removeAll()
    }

    /// `[] [command] [announcement]` to every registry, dropped where it cannot go now.
    private func send(_ command: Command, _ announcement: Announcement) {
        guard !sockets.isEmpty else { return }
        let header = Header(command: command, requestID: RequestID(client: 0, sequence: 0))
        let frames = [[], header.encoded(), announcement.encoded()]
        for socket in sockets { _ = socket.assumeIsolated { $0.sendOrDrop(frames) } }
    }
}
