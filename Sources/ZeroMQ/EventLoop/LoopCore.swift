internal import CZeroMQ
import Synchronization
#if canImport(Glibc)
import Glibc
import MeshClock
#endif

/// The state and thread behind an ``EventLoop``.
///
/// Safety of `@unchecked Sendable`: the shared parts (`inbox`, the atomics, `wakeFD`,
/// `epollFD`, `context`, `name`) are immutable or synchronised by a `Mutex`/`Atomic`.
/// Everything else (`timers`, `registrations`, `dirty`, `executor` and `taskExecutor` after
/// start) is touched only on the loop thread: every entry point to it calls `assertInLoop()`
/// first (see `EventLoop`'s loop-thread API), and the executors are written once before the
/// thread is created, which orders the writes before every read.
///
/// Readiness: every socket's `ZMQ_FD` and the wake-up `eventfd` sit in one epoll set. libzmq's
/// descriptor only says "look at me": the socket's real state is `ZMQ_EVENTS`, and a send or
/// receive can change it without the descriptor firing. So a socket is marked *dirty* when its
/// descriptor fires and whenever the loop or its owner used it; before sleeping, the loop reads
/// `ZMQ_EVENTS` of dirty sockets only and hands ready ones to their handlers. Idle sockets
/// cost nothing per wake-up (unlike `zmq_poll`, which asks every socket twice).
final class LoopCore: @unchecked Sendable, LoopExitWatching {
    enum Work {
        /// An actor's job: runs isolated to the loop.
        case job(UnownedJob)
        /// A job of a task that prefers the loop as its task executor: runs not isolated.
        case taskJob(UnownedJob)
        case closure(@Sendable () -> Void)
    }

    struct Inbox {
        var work: [Work] = []
        var sleeping = false
        var exitRequested = false
    }

    private final class Entry {
        var interest: ZMQPollEvents
        let handle: UnsafeMutableRawPointer
        let fd: Int32
        let handler: (ZMQPollEvents) -> Bool
        let onShutdown: () -> Void
        var dirty = false
        /// Read coalescing (see `EventLoop.register`): the window, zero when off; whether the
        /// socket's reads wait for the window's end; when its handler last drained it.
        let coalescing: Duration
        var muted = false
        var lastDrained: MonotonicTime?

        init(interest: ZMQPollEvents, handle: UnsafeMutableRawPointer, fd: Int32, coalescing: Duration,
             handler: @escaping (ZMQPollEvents) -> Bool, onShutdown: @escaping () -> Void) {
            self.interest = interest
            self.handle = handle
            self.fd = fd
            self.coalescing = coalescing
            self.handler = handler
            self.onShutdown = onShutdown
        }

        /// `ZMQ_EVENTS` (this makes libzmq process the socket's pending commands); asked again when
        /// a signal interrupts it, since an empty answer would leave a readable socket unread.
        func readiness() -> ZMQPollEvents {
            var events: Int32 = 0
            var size = MemoryLayout<Int32>.size
            if uninterrupted({ zmq_getsockopt(handle, ZMQ_EVENTS, &events, &size) }) != 0 { return [] }
            return ZMQPollEvents(rawValue: Int16(truncatingIfNeeded: events))
        }
    }

    let name: String
    let context: ZMQContext
    private let wakeFD: Int32
    private let epollFD: Int32
    private let inbox = Mutex(Inbox())
    private let threadToken = Atomic<UInt>(0)
    let exited = Atomic<Bool>(false)
    let wakeUpCount = Atomic<UInt64>(0)
    private let shutDown = Atomic<Bool>(false)

    // Loop-thread state.
    private var executor: UnownedSerialExecutor?
    private var taskExecutor: UnownedTaskExecutor?
    var timers = LoopTimers()
    private var registrations = RegistrationTable<Entry>()
    private var dirty: [UInt64] = []
    /// Every socket made on this loop, weakly: shutdown closes those still open even if no
    /// handler was ever registered for them, so the context can terminate.
    private var madeSockets: [WeakSocket] = []
    private var pruneMadeSocketsAt = 64
    /// What asked to run at the end of the current turn (`EventLoop.atTurnEnd`), and a spare
    /// array to swap with so running them allocates nothing.
    private var turnEndActions: [() -> Void] = []
    private var runningTurnEndActions: [() -> Void] = []

    private struct WeakSocket {
        weak var socket: ZMQSocket?
    }

    init(name: String, context: ZMQContext) throws(ZMQError) {
        self.name = name
        self.context = context
        let fd = zmesh_eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        if fd < 0 { throw ZMQError(code: errno, operation: "eventfd", detail: name) }
        let epoll = zmesh_epoll_create()
        if epoll < 0 {
            Glibc.close(fd)
            throw ZMQError(code: errno, operation: "epoll_create1", detail: name)
        }
        if zmesh_epoll_add(epoll, fd, 0) != 0 {
            Glibc.close(fd)
            Glibc.close(epoll)
            throw ZMQError(code: errno, operation: "epoll_ctl", detail: name)
        }
        wakeFD = fd
        epollFD = epoll
    }

    deinit {
        Glibc.close(wakeFD)
        Glibc.close(epollFD)
    }

    var hasExited: Bool { exited.load(ordering: .acquiring) }
    var isShutDown: Bool { shutDown.load(ordering: .acquiring) }

    var isLoopThread: Bool {
        let token = threadToken.load(ordering: .acquiring)
        return token != 0 && pthread_equal(pthread_self(), pthread_t(token)) != 0
    }

    @inline(__always)
    func assertInLoop() {
        precondition(isLoopThread, "this must run on event loop \(name)'s thread")
    }

    // MARK: Thread

    func start(executor: UnownedSerialExecutor, taskExecutor: UnownedTaskExecutor) {
        self.executor = executor
        self.taskExecutor = taskExecutor
        let rc = startDetachedThread { self.run() }
        guard rc == 0 else { fatalError("pthread_create failed for event loop \(name): \(rc)") }
    }

    func requestExit() {
        let wake = inbox.withLock { box -> Bool in
            box.exitRequested = true
            let wasSleeping = box.sleeping
            box.sleeping = false
            return wasSleeping
        }
        if wake { _ = zmesh_eventfd_write(wakeFD, 1) }
    }

    func submit(_ work: Work) {
        let wake = inbox.withLock { box -> Bool in
            box.work.append(work)
            let wasSleeping = box.sleeping
            box.sleeping = false
            return wasSleeping
        }
        if wake { _ = zmesh_eventfd_write(wakeFD, 1) }
    }

    private func run() {
        threadToken.store(UInt(pthread_self()), ordering: .releasing)
        _ = zmesh_set_thread_name(String(name.prefix(15)))
        var batch: [Work] = []
        batch.reserveCapacity(64)
        var fired = [UInt64](repeating: 0, count: 64)

        while true {
            // 1. Every job queued so far.
            let exitRequested = inbox.withLock { box -> Bool in
                swap(&batch, &box.work)
                return box.exitRequested
            }
            for work in batch { perform(work) }
            batch.removeAll(keepingCapacity: true)
            runTurnEndActions()

            // 2. Due timers.
            runDueTimers()

            if exitRequested {
                if inbox.withLock({ $0.work.isEmpty }) { break }
                continue
            }

            // 3. Sockets that may have changed: read their state, hand ready ones over.
            serviceDirtySockets()
            runTurnEndActions()

            // 4. Wait: sleep only if nothing was queued meanwhile and no socket needs a look.
            let mayBlock = dirty.isEmpty && turnEndActions.isEmpty && inbox.withLock { box -> Bool in
                guard box.work.isEmpty, !box.exitRequested else { return false }
                box.sleeping = true
                return true
            }
            let timeout = mayBlock ? pollTimeoutMilliseconds() : 0
            let count = fired.withUnsafeMutableBufferPointer { buffer in
                zmesh_epoll_wait(epollFD, buffer.baseAddress, Int32(buffer.count), Int32(timeout))
            }
            if mayBlock { inbox.withLock { $0.sleeping = false } }
            wakeUpCount.add(1, ordering: .relaxed)
            for index in 0..<Int(max(0, count)) {
                let id = fired[index]
                if id == 0 {
                    var value: UInt64 = 0
                    _ = zmesh_eventfd_read(wakeFD, &value)
                } else {
                    markDirty(id)
                }
            }
        }
        closeEverything()
        exited.store(true, ordering: .releasing)
    }

    /// Looks at dirty sockets until none is left dirty (a handler that sent on another socket
    /// makes that one dirty: it is looked at in the same wake-up, not after an extra wait),
    /// at most a few rounds so one busy pair of sockets cannot starve jobs and timers.
    private func serviceDirtySockets() {
        for _ in 0..<4 where !dirty.isEmpty {
            serviceDirtyRound()
        }
    }

    private func serviceDirtyRound() {
        let batch = dirty
        dirty.removeAll(keepingCapacity: true)
        for id in batch {
            guard let entry = registrations[id], entry.dirty else { continue }
            entry.dirty = false
            guard !entry.interest.isEmpty else { continue }
            var ready = entry.readiness().intersection(entry.interest)
            if entry.muted { ready.remove(.readable) }
            guard !ready.isEmpty else { continue }
            // Sends inside the handler mark the socket dirty again. A handler that returns
            // `true` ended with a receive that found nothing, after its last send: libzmq has
            // processed the socket's commands, its state is known, no second look is needed.
            if entry.handler(ready) {
                entry.dirty = false
                if ready.contains(.readable) && entry.coalescing > .zero { drained(id, entry) }
            } else {
                markDirty(id)
            }
        }
        // Drop ids a settled handler cleared, so they do not keep the loop awake.
        if !dirty.isEmpty { dirty.removeAll { registrations[$0]?.dirty != true } }
    }

    /// Read coalescing: a socket drained twice within two windows is busy, so its next read
    /// waits for the window's end: its descriptor leaves the epoll set until then, and what
    /// arrives meanwhile is read in one go (one wake-up of this thread, and one `eventfd`
    /// write by libzmq's I/O thread, per window instead of per message). A socket found idle
    /// at the window's end is polled again at once, so a lone message is read without delay.
    private func drained(_ id: UInt64, _ entry: Entry) {
        let now = MonotonicTime.now()
        defer { entry.lastDrained = now }
        guard let last = entry.lastDrained, last.advanced(by: entry.coalescing * 2) > now,
              zmesh_epoll_arm(epollFD, entry.fd, id, 0) == 0 else { return }
        entry.muted = true
        _ = timers.schedule(at: now.advanced(by: entry.coalescing)) { [weak self] in self?.unmute(id) }
    }

    private func unmute(_ id: UInt64) {
        guard let entry = registrations[id], entry.muted else { return }
        entry.muted = false
        _ = zmesh_epoll_arm(epollFD, entry.fd, id, 1)
        markDirty(id)
    }

    @inline(__always)
    private func markDirty(_ id: UInt64) {
        guard let entry = registrations[id], !entry.dirty else { return }
        entry.dirty = true
        dirty.append(id)
    }

    private func perform(_ work: Work) {
        switch work {
        case .job(let job):
            guard let executor else { return }
            job.runSynchronously(on: executor)
        case .taskJob(let job):
            guard let taskExecutor else { return }
            job.runSynchronously(on: taskExecutor)
        case .closure(let closure):
            closure()
        }
    }

    /// Runs what asked to run at the end of this turn: after the queued jobs (so what they
    /// sent goes before the sockets are read) and after the ready sockets (before sleeping).
    /// An action may ask again; it runs in the same call (at most a few rounds).
    private func runTurnEndActions() {
        for _ in 0..<4 where !turnEndActions.isEmpty {
            swap(&turnEndActions, &runningTurnEndActions)
            for action in runningTurnEndActions { action() }
            runningTurnEndActions.removeAll(keepingCapacity: true)
        }
    }

    /// See `EventLoop.atTurnEnd` (loop thread).
    func atTurnEnd(_ action: @escaping () -> Void) {
        turnEndActions.append(action)
    }

    private func runDueTimers() {
        guard !timers.isEmpty else { return }
        let due = timers.popDue(now: .now())
        for action in due { action() }
    }

    private func pollTimeoutMilliseconds() -> Int {
        guard let deadline = timers.nextDeadline() else { return -1 }
        let wait = MonotonicTime.now().nanoseconds(until: deadline)
        if wait == 0 { return 0 }
        // Round up so the loop does not wake a little early and spin.
        return Int(min((wait + 999_999) / 1_000_000, 60_000))
    }

    // MARK: Registrations (loop thread)

    func register(handle: UnsafeMutableRawPointer, interest: ZMQPollEvents, coalescing: Duration,
                  handler: @escaping (ZMQPollEvents) -> Bool,
                  onShutdown: @escaping () -> Void) throws(ZMQError) -> LoopRegistration {
        var fd: Int32 = -1
        var size = MemoryLayout<Int32>.size
        if zmq_getsockopt(handle, ZMQ_FD, &fd, &size) != 0 { throw ZMQError.last("getsockopt", "ZMQ_FD") }
        let id = registrations.insert(Entry(interest: interest, handle: handle, fd: fd, coalescing: coalescing,
                                            handler: handler, onShutdown: onShutdown))
        if zmesh_epoll_add(epollFD, fd, id) != 0 {
            let error = ZMQError(code: errno, operation: "epoll_ctl", detail: "ZMQ_FD of a socket on loop \(name)")
            _ = registrations.remove(id)
            throw error
        }
        // Messages may already be waiting (a socket used before it was registered).
        markDirty(id)
        return LoopRegistration(id: id)
    }

    func setInterest(_ registration: LoopRegistration, _ interest: ZMQPollEvents) {
        guard let entry = registrations[registration.id] else { return }
        entry.interest = interest
        markDirty(registration.id)
    }

    /// Tells the loop its owner sent or received on the socket outside the handler: its state
    /// may have changed without its descriptor firing.
    func touched(_ registration: LoopRegistration) {
        markDirty(registration.id)
    }

    func unregister(_ registration: LoopRegistration) {
        guard let entry = registrations.remove(registration.id) else { return }
        _ = zmesh_epoll_remove(epollFD, entry.fd)
    }

    /// Closes every registered socket through its hook and drops all timers.
    func closeEverything() {
        shutDown.store(true, ordering: .releasing)
        let entries = registrations.entries
        for entry in entries { _ = zmesh_epoll_remove(epollFD, entry.fd) }
        registrations.removeAll()
        dirty.removeAll()
        turnEndActions.removeAll()
        for entry in entries { entry.onShutdown() }
        timers.removeAll()
        for made in madeSockets { made.socket?.close() }
        madeSockets.removeAll()
    }

    /// Remembers a socket made on this loop (loop thread only).
    func track(_ socket: ZMQSocket) {
        assertInLoop()
        if madeSockets.count >= pruneMadeSocketsAt {
            madeSockets.removeAll { $0.socket == nil }
            pruneMadeSocketsAt = max(64, madeSockets.count * 2)
        }
        madeSockets.append(WeakSocket(socket: socket))
    }
}
