package import MeshClock
package import ZMesh

/// One node's transport on an ``InProcessNetwork``: the network's executor and manual clock,
/// and sockets that die with it in ``kill()``.
package actor InProcessTransport: MeshTransport {
    package nonisolated let network: InProcessNetwork
    package nonisolated let name: String
    package nonisolated var unownedExecutor: UnownedSerialExecutor { network.unownedExecutor }

    private var sockets: [InProcessSocket] = []
    private var dead = false

    init(network: InProcessNetwork, name: String) {
        self.network = network
        self.name = name
    }

    package nonisolated var isCurrent: Bool { network.executor.isCurrent }
    /// None: tasks run on the global pool (the network's queue is a serial executor only).
    package nonisolated var taskExecutor: (any TaskExecutor)? { nil }

    package nonisolated func execute(_ work: @escaping @Sendable () -> Void) {
        network.executor.execute { [weak self] in
            guard let self, !self.assumeIsolated({ $0.dead }) else { return }
            work()
        }
    }

    package nonisolated func now() -> MonotonicTime { network.now }

    package nonisolated func schedule(at deadline: MonotonicTime, _ action: @escaping () -> Void) -> UInt64 {
        let owner = ObjectIdentifier(self)
        return network.assumeIsolated(passing: action) { network, action in
            network.schedule(at: deadline, owner: owner, action)
        }
    }

    package nonisolated func cancel(_ timer: UInt64) { network.assumeIsolated { $0.cancel(timer) } }

    package func makeSocket(_ kind: SocketKind, options: SocketOptions) throws -> InProcessSocket {
        guard !dead else { throw InProcessError("\(name) was killed") }
        let identity = network.assumeIsolated { $0.newIdentity() }
        let socket = InProcessSocket(network: network, kind: kind, options: options, identity: identity)
        sockets.append(socket)
        return socket
    }

    package func close() {}

    package nonisolated func shutdown() async {}

    /// Ends the node as kill -9 would: every socket closes at once (peers see their
    /// connections lost), its timers never fire, and work queued for it never runs.
    package func kill() {
        dead = true
        for socket in sockets { socket.assumeIsolated { $0.close() } }
        sockets.removeAll()
        let owner = ObjectIdentifier(self)
        network.assumeIsolated { $0.cancelTimers(of: owner) }
    }
}
