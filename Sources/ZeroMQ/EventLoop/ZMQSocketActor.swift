import DequeModule
#if canImport(Glibc)
import Glibc
#endif

/// A libzmq socket wrapped in an actor that runs on its ``EventLoop``'s thread.
///
/// Every isolated method runs on the loop thread, so the socket is only ever touched there.
/// Sends never block: when libzmq would block, messages wait in a bounded queue and go out
/// when the socket is writable again. Messages arrive either pushed to a handler (the loop
/// drains every waiting message per wake-up and calls the handler for each):
/// ``onFrames(_:)``, borrowing libzmq's frames (the mesh's request and reply paths), or
/// ``onMessage(_:)``, copied into arrays (control traffic); or they are pulled with
/// ``receive()`` / ``messages``.
///
/// ```swift
/// let dealer = try await ZMQSocketActor.make(on: loop, type: .dealer)
/// try await dealer.connect("tcp://127.0.0.1:5601")
/// try await dealer.send([[], Array("hello".utf8)])
/// for await frames in dealer.messages { print(frames) }
/// ```
public actor ZMQSocketActor {
    /// What became of a message handed to ``send(_:)``.
    public enum SendResult: Sendable, Equatable {
        /// libzmq took it.
        case sent
        /// libzmq would have blocked; it waits in the outbound queue.
        case queued
        /// A ROUTER with `ZMQ_ROUTER_MANDATORY` has no peer with that routing id.
        case unroutable
        /// The outbound queue is full; the message was dropped.
        case dropped
    }

    /// The loop whose thread runs this actor.
    public nonisolated let loop: EventLoop
    /// The socket pattern.
    public nonisolated let type: ZMQSocketType

    // `nonisolated(unsafe)` only so `deinit` can hand the sockets back to the loop thread:
    // every other use is in isolated methods, on the loop thread.
    nonisolated(unsafe) private let socket: ZMQSocket
    private var registration: LoopRegistration?
    private var closed = false

    // Outbound: messages libzmq could not take yet.
    private var outbound = Deque<[[UInt8]]>()
    private var routerRetryTimer: LoopTimerID?
    /// Most messages waiting to be sent before new ones are dropped.
    public private(set) var outboundLimit = 100_000
    /// Messages dropped because the outbound queue was full or the peer unroutable.
    public private(set) var droppedOutbound: UInt64 = 0

    // Inbound.
    private var handler: (([[UInt8]]) -> Void)?
    private var framesHandler: ((ZMQReceivedFrames) -> Void)?
    private var buffered = Deque<[[UInt8]]>()
    private var waiters: [UInt64: CheckedContinuation<[[UInt8]]?, any Error>] = [:]
    private var waiterOrder = Deque<UInt64>()
    private var nextWaiterID: UInt64 = 0
    private var readPaused = false
    /// Most messages buffered for ``receive()`` before the socket stops reading (libzmq's HWM then applies).
    public private(set) var inboundBufferLimit = 4096
    /// Most messages taken from the socket per loop wake-up, so one busy socket cannot starve others.
    public private(set) var receiveBudget = 1024

    // Monitor.
    nonisolated(unsafe) private var monitorSocket: ZMQSocket?
    private var monitorRegistration: LoopRegistration?
    private var monitorHandler: ((ZMQMonitorEvent) -> Void)?

    public nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }

    /// Creates a socket of `type` on `loop`'s thread and wraps it.
    public static func make(on loop: EventLoop, type: ZMQSocketType, options: [ZMQSocketOption] = []) async throws -> ZMQSocketActor {
        try await loop.submit {
            let socket = try loop.makeSocket(type)
            try socket.set(options)
            return try ZMQSocketActor(loop: loop, socket: socket)
        }
    }

    /// Wraps a socket made on the loop thread (`EventLoop.makeSocket`); it is registered with
    /// the loop on first use. Call on the loop thread only.
    public init(loop: EventLoop, socket: sending ZMQSocket) throws {
        self.loop = loop
        self.type = socket.type
        self.socket = socket
        // Registration happens on first use (see `ensureRegistered`) so init stays synchronous
        // and free of isolation: the loop polls nothing until then.
        precondition(loop.inLoop, "ZMQSocketActor.init must run on the loop thread (use ZMQSocketActor.make)")
    }

    deinit {
        // Close on the loop thread, the only thread that used these sockets. (An `isolated
        // deinit` would say this directly, but crashes Swift 6.3's optimizer across modules.)
        guard !closed else { return }
        let leftovers = OrphanedSockets(socket: socket, monitor: monitorSocket,
                                        registrations: [registration, monitorRegistration].compactMap { $0 },
                                        timer: routerRetryTimer)
        let loop = self.loop
        loop.execute { leftovers.close(on: loop) }
    }

    // MARK: Set-up

    public func bind(_ endpoint: String) throws {
        try socket.bind(endpoint)
        try ensureRegistered()
    }

    public func connect(_ endpoint: String) throws {
        try socket.connect(endpoint)
        try ensureRegistered()
    }

    public func disconnect(_ endpoint: String) throws { try socket.disconnect(endpoint) }

    public func unbind(_ endpoint: String) throws { try socket.unbind(endpoint) }

    public func set(_ option: ZMQSocketOption) throws { try socket.set(option) }

    public func set(_ options: [ZMQSocketOption]) throws { try socket.set(options) }

    /// The last bound endpoint with any wildcard port resolved.
    public func lastEndpoint() throws -> String { try socket.lastEndpoint() }

    /// Bounds the outbound queue and the inbound buffer.
    public func setLimits(outbound: Int? = nil, inboundBuffer: Int? = nil, receiveBudget: Int? = nil) {
        if let outbound { outboundLimit = max(0, outbound) }
        if let inboundBuffer { inboundBufferLimit = max(1, inboundBuffer) }
        if let receiveBudget { self.receiveBudget = max(1, receiveBudget) }
    }

    /// True once closed, by ``close()`` or by the loop shutting down.
    public var isClosed: Bool { closed }

    private func ensureRegistered() throws {
        guard registration == nil, !closed else { return }
        registration = try loop.register(
            socket,
            interest: readPaused ? [] : .readable,
            handler: { [weak self] events in self?.assumeIsolated { $0.handleReady(events) } ?? false },
            onLoopShutdown: { [weak self] in self?.assumeIsolated { $0.closeNow() } })
    }

    // MARK: Sending

    /// Sends a multipart message; queues it if libzmq would block.
    @discardableResult
    public func send(_ frames: [[UInt8]]) throws -> SendResult {
        try send({ () throws(ZMQError) in try socket.send(frames) }, queueing: frames)
    }

    /// The one send path: `attempt` hands the message to libzmq now; `queued` is the message
    /// as frames, built only if it has to wait in the outbound queue (behind earlier ones, or
    /// because libzmq would block).
    @inline(__always)
    private func send(_ attempt: () throws(ZMQError) -> Bool, queueing queued: @autoclosure () -> [[UInt8]]) throws -> SendResult {
        guard !closed else { throw ZMQError(code: ENOTSOCK, operation: "send", detail: "closed socket") }
        if !outbound.isEmpty && type != .router {
            return enqueueOutbound(queued())
        }
        let accepted: Bool
        defer { touched() }
        do {
            accepted = try attempt()
        } catch {
            guard error.hostUnreachable else { throw error }
            droppedOutbound += 1
            return .unroutable
        }
        if accepted { return .sent }
        try ensureRegistered()
        return enqueueOutbound(queued())
    }

    /// Sends a message if libzmq takes it now; otherwise drops it (never queues). For
    /// messages that are stale by the time a queue would send them, such as heartbeats.
    @discardableResult
    public func sendOrDrop(_ frames: [[UInt8]]) -> Bool {
        guard !closed, outbound.isEmpty || type == .router else {
            droppedOutbound += 1
            return false
        }
        defer { touched() }
        do {
            if try socket.send(frames) { return true }
        } catch {}
        droppedOutbound += 1
        return false
    }

    /// Tells the loop this socket was used, so it re-reads its state before sleeping (libzmq's
    /// descriptor may not fire for what a send changed).
    @inline(__always)
    private func touched() {
        if let registration { loop.touched(registration) }
    }

    private func enqueueOutbound(_ frames: [[UInt8]]) -> SendResult {
        guard outbound.count < outboundLimit else {
            droppedOutbound += 1
            return .dropped
        }
        outbound.append(frames)
        armOutboundRetry()
        return .queued
    }

    private func armOutboundRetry() {
        if type == .router {
            // A ROUTER reports POLLOUT when any peer has room, so wait on a short timer instead.
            guard routerRetryTimer == nil else { return }
            routerRetryTimer = loop.schedule(after: .milliseconds(1)) { [weak self] in
                self?.assumeIsolated {
                    $0.routerRetryTimer = nil
                    $0.flushOutbound()
                }
            }
        } else {
            updateInterest()
        }
    }

    private func flushOutbound() {
        guard !closed else { return }
        defer { touched() }
        if type == .router {
            // Per-peer: one blocked peer must not hold back the others.
            var stillBlocked = Deque<[[UInt8]]>()
            while let frames = outbound.popFirst() {
                do {
                    if try !socket.send(frames) { stillBlocked.append(frames) }
                } catch {
                    droppedOutbound += 1
                }
            }
            outbound = stillBlocked
            if !outbound.isEmpty { armOutboundRetry() }
            return
        }
        while let frames = outbound.first {
            do {
                guard try socket.send(frames) else { break }
            } catch {
                droppedOutbound += 1
            }
            outbound.removeFirst()
        }
        updateInterest()
    }

    /// Messages waiting in the outbound queue.
    public var outboundQueued: Int { outbound.count }

    /// Drops every message waiting in the outbound queue (for example when its peer is gone
    /// and the caller re-sends them elsewhere); returns how many were dropped.
    @discardableResult
    public func discardOutbound() -> Int {
        let count = outbound.count
        outbound.removeAll()
        updateInterest()
        return count
    }

    // MARK: Receiving

    /// Delivers every message to `handler` on the loop thread, as soon as it arrives.
    ///
    /// The handler runs on this actor's executor and must not block: hand slow work to a task.
    /// Messages already buffered for ``receive()`` are delivered first.
    public func onMessage(_ handler: @escaping ([[UInt8]]) -> Void) throws {
        self.handler = handler
        while let frames = buffered.popFirst() { handler(frames) }
        readPaused = false
        try ensureRegistered()
        updateInterest()
    }

    /// Delivers every message to `handler` on the loop thread as a borrowed view of libzmq's
    /// buffers: no copies but those the handler makes. The fastest way to receive; the view
    /// is valid only during the call.
    public func onFrames(_ handler: @escaping (ZMQReceivedFrames) -> Void) throws {
        framesHandler = handler
        readPaused = false
        try ensureRegistered()
        updateInterest()
    }

    /// Sends one request-reply envelope (routing ids, empty delimiter, `header`, `body`)
    /// without building a frame array; queues it (copied) if libzmq would block.
    @discardableResult
    public func sendEnvelope(routing: [[UInt8]], header: UnsafeRawBufferPointer, body: [UInt8]) throws -> SendResult {
        try send({ () throws(ZMQError) in try socket.sendEnvelope(routing: routing, header: header, body: body) },
                 queueing: routing + [[], [UInt8](header), body])
    }

    /// ``sendEnvelope(routing:header:body:)`` with the body copied from a buffer (forwarding a
    /// received frame without copying it into an array first).
    @discardableResult
    public func sendEnvelope(routing: [[UInt8]], header: UnsafeRawBufferPointer, bodyBytes body: UnsafeRawBufferPointer) throws -> SendResult {
        try send({ () throws(ZMQError) in try socket.sendEnvelope(routing: routing, header: header, bodyBytes: body) },
                 queueing: routing + [[], [UInt8](header), [UInt8](body)])
    }

    /// The next message, or nil once the socket is closed. Cancellation throws `CancellationError`.
    public func receive() async throws -> [[UInt8]]? {
        if let frames = buffered.popFirst() {
            if readPaused && buffered.count < inboundBufferLimit / 2 {
                readPaused = false
                updateInterest()
            }
            return frames
        }
        if closed { return nil }
        try ensureRegistered()
        let id = nextWaiterID
        nextWaiterID += 1
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                    return
                }
                waiters[id] = continuation
                waiterOrder.append(id)
            }
        } onCancel: {
            loop.execute { [weak self] in
                self?.assumeIsolated { $0.cancelWaiter(id) }
            }
        }
    }

    private func cancelWaiter(_ id: UInt64) {
        waiters.removeValue(forKey: id)?.resume(throwing: CancellationError())
    }

    /// Every message as an asynchronous sequence; it ends when the socket closes.
    public nonisolated var messages: Messages { Messages(socket: self) }

    /// The messages of a ``ZMQSocketActor`` as an `AsyncSequence`.
    public struct Messages: AsyncSequence, Sendable {
        public typealias Element = [[UInt8]]
        let socket: ZMQSocketActor

        public struct AsyncIterator: AsyncIteratorProtocol {
            let socket: ZMQSocketActor
            public mutating func next() async -> [[UInt8]]? {
                try? await socket.receive()
            }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(socket: socket) }
    }

    /// Returns whether the socket is settled (see `EventLoop.register`).
    private func handleReady(_ events: ZMQPollEvents) -> Bool {
        if events.contains(.writable) { flushOutbound() }
        if events.contains(.readable) { return drainInbound() }
        return false
    }

    /// Receives until nothing is waiting (true) or the budget or the buffer is used up (false).
    private func drainInbound() -> Bool {
        var budget = receiveBudget
        if let framesHandler {
            defer { socket.releaseFrames() }
            while budget > 0, !closed {
                budget -= 1
                do {
                    guard let count = try socket.receiveFrames() else { return true }
                    framesHandler(ZMQReceivedFrames(socket: socket, count: count))
                } catch {
                    return false
                }
            }
            return false
        }
        while budget > 0, !closed {
            budget -= 1
            let frames: [[UInt8]]
            do {
                guard let received = try socket.receive() else { return true }
                frames = received
            } catch {
                return false
            }
            deliver(frames)
            if readPaused { return false }
        }
        return false
    }

    private func deliver(_ frames: [[UInt8]]) {
        if let handler {
            handler(frames)
            return
        }
        while let id = waiterOrder.popFirst() {
            if let waiter = waiters.removeValue(forKey: id) {
                waiter.resume(returning: frames)
                return
            }
        }
        buffered.append(frames)
        if buffered.count >= inboundBufferLimit {
            readPaused = true
            updateInterest()
        }
    }

    private func updateInterest() {
        guard let registration else { return }
        var interest: ZMQPollEvents = []
        if !readPaused { interest.insert(.readable) }
        if !outbound.isEmpty && type != .router { interest.insert(.writable) }
        loop.setInterest(registration, interest)
    }

    // MARK: Monitoring

    /// Calls `handler` on the loop thread for each of this socket's `events`
    /// (connections made, lost, handshakes), read from a libzmq socket monitor.
    public func monitor(_ events: ZMQMonitorEvents, handler: @escaping (ZMQMonitorEvent) -> Void) throws {
        guard monitorSocket == nil else {
            monitorHandler = handler
            return
        }
        let endpoint = "inproc://zmesh-monitor-\(MonitorNames.next())"
        try socket.startMonitor(endpoint: endpoint, events: events)
        let pair = try loop.makeSocket(.pair)
        try pair.connect(endpoint)
        monitorSocket = pair
        monitorHandler = handler
        monitorRegistration = try loop.register(
            pair, interest: .readable,
            handler: { [weak self] _ in self?.assumeIsolated { $0.drainMonitor() } ?? false },
            onLoopShutdown: { [weak self] in self?.assumeIsolated { $0.closeNow() } })
        try ensureRegistered()
    }

    private func drainMonitor() -> Bool {
        guard let pair = monitorSocket else { return false }
        while let frames = try? pair.receive() {
            if let event = ZMQMonitorEvent(frames: frames) { monitorHandler?(event) }
        }
        return true
    }

    // MARK: Closing

    /// Closes the socket now: queued outbound messages are dropped, waiting receivers get nil.
    public func close() {
        closeNow()
    }

    /// Closes the socket but lets libzmq keep sending what it holds for up to `linger`
    /// (replies already written must reach their peers when a node stops gracefully): one
    /// last try empties the outbound queue into libzmq first. The context's termination
    /// waits for at most `linger`.
    public func close(lingering linger: Duration) {
        guard !closed else { return }
        flushOutbound()
        try? socket.set(.linger(milliseconds: Int32(clamping: linger.millisecondsClamped)))
        closeNow()
    }

    private func closeNow() {
        guard !closed else { return }
        closed = true
        if let registration { loop.unregister(registration) }
        registration = nil
        if let routerRetryTimer { loop.cancelTimer(routerRetryTimer) }
        routerRetryTimer = nil
        if let monitorRegistration { loop.unregister(monitorRegistration) }
        monitorRegistration = nil
        if let monitorSocket {
            socket.stopMonitor()
            monitorSocket.close()
        }
        monitorSocket = nil
        monitorHandler = nil
        socket.releaseFrames()
        socket.close()
        droppedOutbound += UInt64(outbound.count)
        outbound.removeAll()
        handler = nil
        framesHandler = nil
        let pending = waiters
        waiters.removeAll()
        waiterOrder.removeAll()
        for (_, waiter) in pending { waiter.resume(returning: nil) }
    }
}

/// Unique inproc names for socket monitors, process-wide.
enum MonitorNames {
    private static let counter = _MonitorCounter()
    static func next() -> UInt64 { counter.next() }
}

import Synchronization

final class _MonitorCounter: Sendable {
    private let value = Atomic<UInt64>(0)
    func next() -> UInt64 { value.add(1, ordering: .relaxed).newValue }
}

/// A dead socket actor's sockets, carried to the loop thread to be closed there.
///
/// `@unchecked Sendable` is safe: the actor that owned these sockets has been deinitialised,
/// so nothing else refers to them; they cross to the loop thread once and are closed there,
/// the same thread that used them all along.
private struct OrphanedSockets: @unchecked Sendable {
    let socket: ZMQSocket
    let monitor: ZMQSocket?
    let registrations: [LoopRegistration]
    let timer: LoopTimerID?

    func close(on loop: EventLoop) {
        for registration in registrations { loop.unregister(registration) }
        if let timer, !loop.isShutDown { loop.cancelTimer(timer) }
        if let monitor {
            socket.stopMonitor()
            monitor.close()
        }
        socket.close()
    }
}
