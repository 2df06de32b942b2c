import ServiceLifecycle
import ZeroMQ

/// What a node's actor does for its ``NodeShell``: start on its loop, stop taking work, wait
/// for what is in flight, close. Registries take no work to drain: the defaults do nothing.
protocol NodeCore: Actor {
    /// Binds and starts, on the loop; returns the endpoints bound (the node's own first).
    func startNode() throws -> [String]
    /// Refuses new work from now on (it may go elsewhere).
    func stopAccepting()
    /// Returns when nothing is in flight, or `limit` has passed; true if it had to wait.
    func waitUntilDrained(limit: Duration) async -> Bool
    /// Closes every socket.
    func close()
}

extension NodeCore {
    func stopAccepting() {}
    func waitUntilDrained(limit: Duration) async -> Bool { false }
}

/// The part every node shares: its own event loop (or one it was given), start, run until
/// graceful shutdown, and stop (refuse new work, drain for a grace period, close, and shut
/// down a loop it owns). Service nodes, brokers and registries each hold one.
struct NodeShell<Core: NodeCore>: Sendable {
    /// The loop whose thread owns the node's sockets.
    let loop: EventLoop
    let core: Core
    private let ownsLoop: Bool

    /// - Parameters:
    ///   - name: the node's name, for its loop thread.
    ///   - loop: a loop to share; by default the node starts its own.
    ///   - makeCore: makes the node's actor on the loop chosen.
    init(name: String, loop: EventLoop?, makeCore: (EventLoop) -> Core) throws {
        if let loop {
            self.loop = loop
            ownsLoop = false
        } else {
            self.loop = try EventLoop(name: "zmesh-\(name)")
            ownsLoop = true
        }
        core = makeCore(self.loop)
    }

    /// Starts the node on its loop, and tells `scripts/mesh-up.sh` it listens (``ReadyFile``).
    func start() async throws -> [String] {
        let endpoints = try await loop.submit { [core] in try core.assumeIsolated { try $0.startNode() } }
        ReadyFile.announce(endpoints)
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
        await core.close()
        if ownsLoop { await loop.shutdown() }
    }
}
