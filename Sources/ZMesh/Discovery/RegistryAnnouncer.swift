/// A ``ServiceAnnouncer`` for the built-in registries: one DEALER per registry, named after
/// the announced instance, sending `[] [HEARTBEAT] [announcement]` (or DISCONNECT) to each
/// with `sendOrDrop` (a heartbeat that cannot go now would be stale by the time a queue sent
/// it).
///
/// The DEALER's routing id is the instance id: a registry takes announcements of an instance
/// only from the connection named after it (one connection, one instance; PROTOCOL.md).
///
/// Keep-alives: once a registry has acknowledged the whole announcement (`[] [HEARTBEAT,
/// status 0]`), the beats to it carry only the load (4 bytes), until the announcement
/// changes in anything but its load, the registry answers a keep-alive with status 404 (it
/// restarted, or evicted the instance), or ``fullEvery`` beats have gone by. A registry that
/// never acknowledges (an older one) gets the whole announcement every beat.
actor RegistryAnnouncer<Transport: MeshTransport>: ServiceAnnouncer {
    /// The transport whose executor runs this actor and its sockets.
    nonisolated let transport: Transport
    /// Runs this actor on its transport's executor.
    nonisolated var unownedExecutor: UnownedSerialExecutor { transport.unownedExecutor }

    /// The registries' ROUTER endpoints.
    let registries: [String]
    /// How the DEALERs are made (routing id, queue bounds, reconnection, security).
    let options: SocketOptions
    /// One DEALER per registry and what it knows, once started.
    private var links: [Link] = []
    /// The whole announcement goes at least once in this many beats, whatever a registry
    /// acknowledged: a safety net should one whole announcement have been lost on the way.
    static var fullEvery: Int { 20 }

    /// One registry's connection.
    private struct Link {
        var socket: Transport.Socket
        /// The whole announcement (load aside) this registry acknowledged; nil if none.
        var acknowledged: Announcement?
        /// The whole announcement (load aside) last sent, awaiting acknowledgement.
        var sent: Announcement?
        /// Beats since the whole announcement was last sent.
        var beatsSinceFull = 0
    }

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
        options.reconnect = (.milliseconds(100), AnnouncerReconnect.longestWait)
        options.routingID = Array(instance.utf8)
        if let curve { options.security = .curveClient(curve) }
        self.options = options
    }

    /// Connects a DEALER to every registry (once).
    func start() throws {
        guard links.isEmpty else { return }
        for (index, registry) in registries.enumerated() {
            let socket = try transport.assumeIsolated { [options] in try $0.makeSocket(.dealer, options: options) }
            try socket.assumeIsolated { dealer in
                try dealer.onMessage { [weak self] frames in self?.assumeIsolated { $0.registryAnswered(index, frames) } }
                try dealer.connect(registry)
            }
            links.append(Link(socket: socket))
        }
    }

    /// Sends a HEARTBEAT to every registry: a keep-alive where the registry has this
    /// announcement already, the whole announcement elsewhere.
    func announce(_ announcement: Announcement) {
        var whole = announcement
        whole.keepAlives = true
        let unloaded = whole.with(load: 0)
        let header = Header(command: .heartbeat, requestID: RequestID(client: 0, sequence: 0)).encoded()
        var encoded: [UInt8]?
        for index in links.indices {
            if links[index].acknowledged == unloaded, links[index].beatsSinceFull < Self.fullEvery {
                links[index].beatsSinceFull += 1
                _ = links[index].socket.assumeIsolated { $0.sendOrDrop([[], header, Announcement.keepAlive(load: announcement.load)]) }
                continue
            }
            let body = encoded ?? whole.encoded()
            encoded = body
            links[index].acknowledged = nil
            if links[index].socket.assumeIsolated({ $0.sendOrDrop([[], header, body]) }) {
                links[index].sent = unloaded
                links[index].beatsSinceFull = 0
            }
        }
    }

    /// Sends a DISCONNECT with `announcement` to every registry.
    func withdraw(_ announcement: Announcement) {
        let header = Header(command: .disconnect, requestID: RequestID(client: 0, sequence: 0))
        let frames = [[], header.encoded(), announcement.encoded()]
        for index in links.indices {
            links[index].acknowledged = nil
            _ = links[index].socket.assumeIsolated { $0.sendOrDrop(frames) }
        }
    }

    /// Closes every DEALER.
    func close() {
        for link in links { link.socket.assumeIsolated { $0.close() } }
        links.removeAll()
    }

    /// `[] [HEARTBEAT, status]` from registry `index`: 0 took the whole announcement last
    /// sent; anything else wants it again. Anything else from a registry is ignored.
    private func registryAnswered(_ index: Int, _ frames: [[UInt8]]) {
        guard links.indices.contains(index), frames.count == 2, frames[0].isEmpty,
              case .success(let header) = Header.decode(frames[1]), header.command == .heartbeat else { return }
        if header.status == 0 {
            links[index].acknowledged = links[index].sent
        } else {
            links[index].acknowledged = nil
        }
    }
}

/// How an announcer reconnects to a registry that is down.
enum AnnouncerReconnect {
    /// The longest it waits between attempts (its back-off grows from 100 ms to this): a
    /// registry that restarts may hear from a live instance only this long, plus a heartbeat
    /// interval, after it starts.
    static let longestWait: Duration = .seconds(1)
}
