internal import CZeroMQ
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The state and thread behind an ``EventLoop``.
///
/// Safety of `@unchecked Sendable`: the shared parts (`inbox`, the atomics, `wakeFD`,
/// `context`, `name`) are immutable or synchronised by a `Mutex`/`Atomic`. Everything else
/// (`timers`, `registrations`, `pollItems`, `pollIDs`, `pollDirty`, `executor` after start)
/// is touched only on the loop thread: every entry point to it calls `assertInLoop()` first
/// (see `EventLoop`'s loop-thread API), and `executor` is written once before the thread is
/// created, which orders the write before every read.
final class LoopCore: @unchecked Sendable, LoopExitWatching {
    enum Work {
        case job(UnownedJob)
        case closure(@Sendable () -> Void)
    }

    struct Inbox {
        var work: [Work] = []
        var sleeping = false
        var exitRequested = false
    }

    private struct Entry {
        var interest: ZMQPollEvents
        let handle: UnsafeMutableRawPointer
        let handler: (ZMQPollEvents) -> Void
        let onShutdown: () -> Void
    }

    let name: String
    let context: ZMQContext
    private let wakeFD: Int32
    private let inbox = Mutex(Inbox())
    private let threadToken = Atomic<UInt>(0)
    let exited = Atomic<Bool>(false)
    let wakeUpCount = Atomic<UInt64>(0)
    private let shutDown = Atomic<Bool>(false)

    // Loop-thread state.
    private var executor: UnownedSerialExecutor?
    var timers = LoopTimers()
    private var registrations: [UInt64: Entry] = [:]
    private var nextRegistrationID: UInt64 = 1
    private var pollItems: [zmq_pollitem_t] = []
    private var pollIDs: [UInt64] = []
    private var pollDirty = true

    init(name: String, context: ZMQContext) throws(ZMQError) {
        self.name = name
        self.context = context
        let fd = zmesh_eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        if fd < 0 { throw ZMQError(code: errno, operation: "eventfd", detail: name) }
        wakeFD = fd
    }

    deinit {
        Glibc.close(wakeFD)
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

    func start(executor: UnownedSerialExecutor) {
        self.executor = executor
        var thread = pthread_t()
        let retained = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&thread, nil, { argument in
            guard let argument else { return nil }
            let core = Unmanaged<LoopCore>.fromOpaque(argument).takeRetainedValue()
            core.run()
            return nil
        }, retained)
        guard rc == 0 else {
            Unmanaged<LoopCore>.fromOpaque(retained).release()
            fatalError("pthread_create failed for event loop \(name): \(rc)")
        }
        pthread_detach(thread)
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
        var ready: [(UInt64, ZMQPollEvents)] = []

        while true {
            // 1. Every job queued so far.
            let exitRequested = inbox.withLock { box -> Bool in
                swap(&batch, &box.work)
                return box.exitRequested
            }
            for work in batch { perform(work) }
            batch.removeAll(keepingCapacity: true)

            // 2. Due timers.
            runDueTimers()

            if exitRequested {
                if inbox.withLock({ $0.work.isEmpty }) { break }
                continue
            }

            // 3. Poll: sleep only if nothing was queued meanwhile.
            if pollDirty { rebuildPollItems() }
            let mayBlock = inbox.withLock { box -> Bool in
                guard box.work.isEmpty, !box.exitRequested else { return false }
                box.sleeping = true
                return true
            }
            let timeout = mayBlock ? pollTimeoutMilliseconds() : 0
            let rc = zmq_poll(&pollItems, Int32(pollItems.count), timeout)
            if mayBlock { inbox.withLock { $0.sleeping = false } }
            wakeUpCount.add(1, ordering: .relaxed)
            guard rc > 0 else { continue }

            if pollItems[0].revents & Int16(ZMQ_POLLIN) != 0 {
                var value: UInt64 = 0
                _ = zmesh_eventfd_read(wakeFD, &value)
            }
            ready.removeAll(keepingCapacity: true)
            for index in 1..<pollItems.count where pollItems[index].revents != 0 {
                ready.append((pollIDs[index], ZMQPollEvents(rawValue: pollItems[index].revents)))
            }
            for (id, events) in ready {
                // A handler may have unregistered another socket meanwhile.
                guard let entry = registrations[id] else { continue }
                entry.handler(events)
            }
        }
        closeEverything()
        exited.store(true, ordering: .releasing)
    }

    private func perform(_ work: Work) {
        switch work {
        case .job(let job):
            guard let executor else { return }
            job.runSynchronously(on: executor)
        case .closure(let closure):
            closure()
        }
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

    private func rebuildPollItems() {
        pollItems.removeAll(keepingCapacity: true)
        pollIDs.removeAll(keepingCapacity: true)
        pollItems.append(zmq_pollitem_t(socket: nil, fd: wakeFD, events: Int16(ZMQ_POLLIN), revents: 0))
        pollIDs.append(0)
        for (id, entry) in registrations.sorted(by: { $0.key < $1.key }) where !entry.interest.isEmpty {
            pollItems.append(zmq_pollitem_t(socket: entry.handle, fd: 0, events: entry.interest.rawValue, revents: 0))
            pollIDs.append(id)
        }
        pollDirty = false
    }

    // MARK: Registrations (loop thread)

    func register(handle: UnsafeMutableRawPointer, interest: ZMQPollEvents,
                  handler: @escaping (ZMQPollEvents) -> Void,
                  onShutdown: @escaping () -> Void) -> LoopRegistration {
        let id = nextRegistrationID
        nextRegistrationID += 1
        registrations[id] = Entry(interest: interest, handle: handle, handler: handler, onShutdown: onShutdown)
        pollDirty = true
        return LoopRegistration(id: id)
    }

    func setInterest(_ registration: LoopRegistration, _ interest: ZMQPollEvents) {
        guard registrations[registration.id] != nil, registrations[registration.id]?.interest != interest else { return }
        registrations[registration.id]?.interest = interest
        pollDirty = true
    }

    func unregister(_ registration: LoopRegistration) {
        if registrations.removeValue(forKey: registration.id) != nil { pollDirty = true }
    }

    /// Closes every registered socket through its hook and drops all timers.
    func closeEverything() {
        shutDown.store(true, ordering: .releasing)
        let entries = registrations.sorted(by: { $0.key < $1.key }).map(\.value)
        registrations.removeAll()
        pollDirty = true
        for entry in entries { entry.onShutdown() }
        timers.removeAll()
    }
}
