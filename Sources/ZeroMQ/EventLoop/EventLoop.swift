internal import CZeroMQ
import Synchronization
#if canImport(Glibc)
import Glibc
public import MeshClock
#endif

/// A thread that owns libzmq sockets: it waits in epoll on their `ZMQ_FD`s plus an `eventfd`
/// wake-up, fires timers, and is a Swift `SerialExecutor`.
///
/// Actors whose `unownedExecutor` is an `EventLoop` (such as ``ZMQSocketActor`` and the
/// mesh's client, service, registry and broker actors) run every isolated method on this
/// one thread, so libzmq's rule that a socket is used by one thread only holds by
/// construction, checked by the compiler in Swift 6 strict concurrency.
///
/// Each wake-up runs every job queued so far, fires due timers, and hands every ready
/// socket to its handler, which drains all waiting messages (batching). Jobs enqueued while
/// the loop is busy do not write the `eventfd` (wake-up saving, as in swift-nio's
/// SelectableEventLoop).
///
/// Lifetime: ``shutdown()`` closes every socket the loop owns and runs their close hooks;
/// the thread itself ends when the last reference to the `EventLoop` goes away.
///
/// ```swift
/// let loop = try EventLoop(name: "io")
/// let socket = try await ZMQSocketActor.make(on: loop, type: .dealer)
/// try await socket.connect("tcp://127.0.0.1:5601")
/// ```
public final class EventLoop: SerialExecutor, TaskExecutor, Sendable {
    let core: LoopCore
    /// The loop as a task executor: a separate object, so the loop can tell a job of a task
    /// that merely prefers this thread (run as not isolated) from an actor's job (run as
    /// isolated to the loop). Running both as isolated makes every step of a preferring task
    /// into nonisolated code hop back through the inbox.
    private let taskExecutorHandle: LoopTaskExecutor

    /// True when the loop made its context (and so terminates it in ``shutdown()``).
    private let ownsContext: Bool

    /// The libzmq context every socket of this loop belongs to.
    public var context: ZMQContext { core.context }

    /// A name for logs and the thread (`zmesh-io` by default).
    public var name: String { core.name }

    /// Starts a loop thread with a new libzmq context (or `context`, shared).
    public init(name: String = "zmesh-io", context: ZMQContext? = nil) throws(ZMQError) {
        let owned: ZMQContext
        if let context { owned = context } else { owned = try ZMQContext() }
        ownsContext = context == nil
        core = try LoopCore(name: name, context: owned)
        taskExecutorHandle = LoopTaskExecutor(core: core)
        core.start(executor: UnownedSerialExecutor(ordinary: self),
                   taskExecutor: UnownedTaskExecutor(ordinary: taskExecutorHandle))
    }

    deinit {
        core.requestExit()
    }

    // MARK: SerialExecutor

    public func enqueue(_ job: consuming ExecutorJob) {
        core.submit(.job(UnownedJob(job)))
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// As a task executor, the loop runs tasks that prefer it on its own thread: a caller
    /// that runs there (`withTaskExecutorPreference(client.loop) { ... }`) talks to the
    /// client's sockets without a thread hand-off each way.
    public func asUnownedTaskExecutor() -> UnownedTaskExecutor {
        UnownedTaskExecutor(ordinary: taskExecutorHandle)
    }

    /// The loop's task executor as an object of its own, for `Task(executorPreference:)`:
    /// that initializer pairs the executor object it is given with that object's own
    /// conformance, so it must be given the object ``asUnownedTaskExecutor()`` names (given
    /// the loop itself, the task's jobs reached the wrong object and crashed).
    public var taskExecutor: any TaskExecutor { taskExecutorHandle }

    public func checkIsolated() {
        precondition(core.isLoopThread, "not on event loop \(core.name)'s thread")
    }

    public func isIsolatingCurrentContext() -> Bool? {
        core.isLoopThread
    }

    // MARK: Work from any thread

    /// True when the caller runs on this loop's thread.
    public var inLoop: Bool { core.isLoopThread }

    /// Runs `work` on the loop thread soon; callable from any thread.
    public func execute(_ work: @escaping @Sendable () -> Void) {
        core.submit(.closure(work))
    }

    /// Runs `body` on the loop thread and returns its result.
    public func submit<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            execute { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Closes every socket the loop owns (running their close hooks), cancels all timers,
    /// and makes later registrations fail. Safe to call more than once.
    ///
    /// A loop that made its own context then terminates it, waiting (up to two seconds) for
    /// libzmq to send what sockets closed with a linger still hold: a node's last replies
    /// leave before its process exits.
    public func shutdown() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            execute { [core] in
                core.closeEverything()
                continuation.resume()
            }
        }
        if ownsContext { await context.terminate(waitingAtMost: .seconds(2)) }
    }

    /// True once ``shutdown()`` ran.
    public var isShutDown: Bool { core.isShutDown }

    // MARK: Loop-thread API (call only on the loop thread, for example from an isolated actor method)

    /// Makes a socket owned by this loop. Loop thread only.
    public func makeSocket(_ type: ZMQSocketType) throws(ZMQError) -> ZMQSocket {
        core.assertInLoop()
        if core.isShutDown { throw ZMQError(code: ETERM, operation: "zmq_socket", detail: "event loop \(name) is shut down") }
        let socket = try ZMQSocket(context: context, type: type)
        core.track(socket)
        return socket
    }

    /// Polls `socket` for `interest` and calls `handler` with what is ready, on the loop thread.
    ///
    /// The handler returns `true` if it left the socket *settled*: its last operation on the
    /// socket was a receive that found nothing (so libzmq processed the socket's pending
    /// commands after any send). Otherwise the loop reads the socket's state once more before
    /// sleeping.
    ///
    /// `onLoopShutdown` runs if the loop shuts down while the socket is registered: close the
    /// socket there and fail whatever waits on it. Handlers should capture their owner weakly.
    ///
    /// `coalescing`, when above zero, trades latency for wake-ups on a socket that takes many
    /// small messages from many peers (a registry's heartbeats): while the socket stays busy,
    /// its handler reads at most once per window, taking everything that arrived meanwhile; an
    /// idle socket's first message is still read at once. A message waits at most one window.
    public func register(
        _ socket: ZMQSocket,
        interest: ZMQPollEvents,
        coalescing: Duration = .zero,
        handler: @escaping (ZMQPollEvents) -> Bool,
        onLoopShutdown: @escaping () -> Void
    ) throws(ZMQError) -> LoopRegistration {
        core.assertInLoop()
        guard let handle = socket.handle else {
            throw ZMQError(code: ENOTSOCK, operation: "register", detail: "closed socket")
        }
        if core.isShutDown { throw ZMQError(code: ETERM, operation: "register", detail: "event loop \(name) is shut down") }
        return try core.register(handle: handle, interest: interest, coalescing: coalescing,
                                 handler: handler, onShutdown: onLoopShutdown)
    }

    /// Changes what a registration polls for. Loop thread only.
    public func setInterest(_ registration: LoopRegistration, _ interest: ZMQPollEvents) {
        core.assertInLoop()
        core.setInterest(registration, interest)
    }

    /// Says the socket was used (sent or received on) outside its handler, so the loop must
    /// look at its state again before sleeping. ``ZMQSocketActor`` calls this. Loop thread only.
    public func touched(_ registration: LoopRegistration) {
        core.assertInLoop()
        core.touched(registration)
    }

    /// Stops polling a socket. Call before closing it. Loop thread only.
    public func unregister(_ registration: LoopRegistration) {
        core.assertInLoop()
        core.unregister(registration)
    }

    /// Runs `action` on the loop thread at `deadline`. Loop thread only.
    @discardableResult
    public func schedule(at deadline: MonotonicTime, _ action: @escaping () -> Void) -> LoopTimerID {
        core.assertInLoop()
        return core.timers.schedule(at: deadline, action)
    }

    /// Runs `action` on the loop thread after `delay`. Loop thread only.
    @discardableResult
    public func schedule(after delay: Duration, _ action: @escaping () -> Void) -> LoopTimerID {
        schedule(at: MonotonicTime.now().advanced(by: delay), action)
    }

    /// Runs `action` on the loop thread at the end of the current turn: once the jobs queued
    /// so far have run and the sockets ready now have been served, before the loop sleeps.
    /// Work produced piecemeal during a turn (messages to send, say) can be done in one go
    /// there without delaying anything past the turn. Call on the loop thread only.
    public func atTurnEnd(_ action: @escaping () -> Void) {
        core.assertInLoop()
        core.atTurnEnd(action)
    }

    /// Cancels a timer; a no-op if it already ran. Loop thread only.
    public func cancelTimer(_ id: LoopTimerID) {
        core.assertInLoop()
        core.timers.cancel(id)
    }

    /// Number of loop iterations so far (a wake-up counter for tests and benchmarks).
    public var wakeUps: UInt64 { core.wakeUpCount.load(ordering: .relaxed) }

    /// The loop's core, for watching its thread end after the loop itself is gone.
    public var exitWatcher: some Sendable & LoopExitWatching { core }
}

/// Lets a test see that a loop's thread has ended after the loop itself was released.
public protocol LoopExitWatching {
    /// True once the loop thread has returned.
    var hasExited: Bool { get }
}

/// A socket's place in a loop's poll set.
public struct LoopRegistration: Hashable, Sendable {
    let id: UInt64
}

/// The task-executor face of an ``EventLoop``: jobs it takes run on the loop thread, not
/// isolated to any actor.
final class LoopTaskExecutor: TaskExecutor, Sendable {
    let core: LoopCore

    init(core: LoopCore) { self.core = core }

    func enqueue(_ job: consuming ExecutorJob) {
        core.submit(.taskJob(UnownedJob(job)))
    }

    func asUnownedTaskExecutor() -> UnownedTaskExecutor {
        UnownedTaskExecutor(ordinary: self)
    }
}
