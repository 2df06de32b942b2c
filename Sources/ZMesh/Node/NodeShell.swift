import ServiceLifecycle

/// What a node's actor does for its ``NodeShell``: start on its transport, stop taking work,
/// wait for what is in flight, close. Registries take no work to drain: the defaults do nothing.
protocol NodeCore: Actor {
    associatedtype Transport: MeshTransport
    /// The transport whose executor runs this actor and its sockets.
    nonisolated var transport: Transport { get }
    /// Binds and starts; returns the endpoints bound (the node's own first).
    func startNode() throws -> [String]
    /// Refuses new work from now on (it may go elsewhere).
    func stopAccepting()
    /// Returns when nothing is in flight, or `limit` has passed; true if it had to wait.
    func waitUntilDrained(limit: Duration) async -> Bool
    /// Closes every socket.
    func close()
    /// Returns once the node's registration is gone from wherever it was announced (a
    /// directory's withdrawal takes a request); at once for registries.
    func finishLeaving() async
}

extension NodeCore {
    func stopAccepting() {}
    func finishLeaving() async {}
    func waitUntilDrained(limit: Duration) async -> Bool { false }
}

/// The part every node shares: start, run until graceful shutdown, and stop (refuse new
/// work, drain for a grace period, close, shut the transport down). Service nodes, brokers
/// and registries each hold one.
struct NodeShell<Core: NodeCore>: Sendable {
    let core: Core
    /// Told the endpoints once the node listens (`scripts/mesh-up.sh` waits for them).
    private let onListening: (@Sendable ([String]) -> Void)?

    init(core: Core, onListening: (@Sendable ([String]) -> Void)? = nil) {
        self.core = core
        self.onListening = onListening
    }

    /// Starts the node; returns its bound endpoints.
    func start() async throws -> [String] {
        let endpoints = try await core.startNode()
        onListening?(endpoints)
        return endpoints
    }

    /// Runs until graceful shutdown (or cancellation), then stops with `gracePeriod`.
    func run(gracePeriod: Duration) async throws {
        _ = try await start()
        try? await gracefulShutdown()
        await stop(gracePeriod: gracePeriod)
    }

    /// How long the sockets stay open after the last drained reply was written: a client
    /// reads a reply when its loop gets to it, and libzmq drops what a connecting socket
    /// (ZMQ_IMMEDIATE) has not read when its connection closes, so a close right after the
    /// last reply could lose it (seen in about one graceful stop in ten under test load).
    static var replySettle: Duration { .milliseconds(200) }

    /// Refuses new work, lets what is in flight finish for up to `gracePeriod`, gives its
    /// last replies a moment to be read, closes.
    func stop(gracePeriod: Duration) async {
        await core.stopAccepting()
        if await core.waitUntilDrained(limit: gracePeriod) { try? await Task.sleep(for: Self.replySettle) }
        await core.finishLeaving()
        await core.close()
        await core.transport.shutdown()
    }
}

/// Callers waiting for a node to finish what it holds (``NodeShell/stop(gracePeriod:)``).
struct DrainWaiters {
    private var waiting: [CheckedContinuation<Void, Never>] = []

    mutating func append(_ waiter: CheckedContinuation<Void, Never>) { waiting.append(waiter) }

    /// Resumes every waiter.
    mutating func resumeAll() {
        let waiters = waiting
        waiting.removeAll()
        for waiter in waiters { waiter.resume() }
    }
}

/// A node that holds work while it drains: service nodes and brokers.
protocol DrainingCore: NodeCore {
    /// True when nothing is in flight or queued.
    var isDrained: Bool { get }
    var drainWaiters: DrainWaiters { get set }
}

extension DrainingCore {
    /// Suspends until nothing is in flight, or `limit` has passed; true if anything was.
    func waitUntilDrained(limit: Duration) async -> Bool {
        if isDrained { return false }
        let timer = transport.schedule(after: limit) { [weak self] in
            self?.assumeIsolated { $0.drainWaiters.resumeAll() }
        }
        await withCheckedContinuation { drainWaiters.append($0) }
        transport.cancel(timer)
        return true
    }

    /// Resumes the drain's waiters once nothing is left.
    func resumeDrainWaitersIfDrained() {
        if isDrained { drainWaiters.resumeAll() }
    }
}
