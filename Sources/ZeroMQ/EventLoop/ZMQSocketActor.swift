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
    nonisolated(unsafe) let socket: ZMQSocket
    var registration: LoopRegistration?
    var closed = false
    var connectOptions: (@Sendable (String) throws -> [ZMQSocketOption])?

    // Outbound: messages libzmq could not take yet.
    var outbound = Deque<[[UInt8]]>()
    /// A ROUTER's peers with a message in `outbound`: their next messages wait behind it (in order).
    var waitingPeers = Set<[UInt8]>()
    // Send coalescing (ZMQSocketActor+Coalescing.swift).
    var held = HeldMessages()
    var heldLimit = 0
    var heldFlushArmed = false
    var lateSendFailure: ((SendResult) -> Void)?
    var lateFailures: [SendResult] = []
    var routerRetryTimer: LoopTimerID?
    /// Most messages waiting to be sent before new ones are dropped.
    public private(set) var outboundLimit = 100_000
    /// Messages dropped because the outbound queue was full or the peer unroutable.
    public internal(set) var droppedOutbound: UInt64 = 0

    // Inbound.
    var handler: (([[UInt8]]) -> Void)?
    var framesHandler: ((ZMQReceivedFrames) -> Void)?
    var buffered = Deque<[[UInt8]]>()
    var waiters: [UInt64: CheckedContinuation<[[UInt8]]?, any Error>] = [:]
    var waiterOrder = Deque<UInt64>()
    var nextWaiterID: UInt64 = 0
    var readPaused = false
    /// Most messages buffered for ``receive()`` before the socket stops reading (libzmq's HWM then applies).
    public private(set) var inboundBufferLimit = 4096
    /// Most messages taken from the socket per loop wake-up, so one busy socket cannot starve others.
    public private(set) var receiveBudget = 1024
    /// See ``setReadCoalescing(_:)``.
    public private(set) var readCoalescing: Duration = .zero

    // Monitor.
    nonisolated(unsafe) var monitorSocket: ZMQSocket?
    var monitorRegistration: LoopRegistration?
    var monitorHandler: ((ZMQMonitorEvent) -> Void)?

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
        if let connectOptions { try socket.set(connectOptions(endpoint)) }
        try socket.connect(endpoint)
        try ensureRegistered()
    }

    public func disconnect(_ endpoint: String) throws { try socket.disconnect(endpoint) }

    public func unbind(_ endpoint: String) throws { try socket.unbind(endpoint) }

    public func set(_ option: ZMQSocketOption) throws { try socket.set(option) }

    public func set(_ options: [ZMQSocketOption]) throws { try socket.set(options) }

    /// Options applied before every ``connect(_:)``, made for the endpoint connected to (such
    /// as the CURVE server key of the peer there).
    public func setConnectOptions(_ options: @escaping @Sendable (String) throws -> [ZMQSocketOption]) {
        connectOptions = options
    }

    /// The last bound endpoint with any wildcard port resolved.
    public func lastEndpoint() throws -> String { try socket.lastEndpoint() }

    /// Bounds the outbound queue and the inbound buffer.
    public func setLimits(outbound: Int? = nil, inboundBuffer: Int? = nil, receiveBudget: Int? = nil) {
        if let outbound { outboundLimit = max(0, outbound) }
        if let inboundBuffer { inboundBufferLimit = max(1, inboundBuffer) }
        if let receiveBudget { self.receiveBudget = max(1, receiveBudget) }
    }

    /// While the socket is busy, reads at most once per `window` (see `EventLoop.register`'s
    /// `coalescing`). Takes effect if set before the socket's first use.
    public func setReadCoalescing(_ window: Duration) {
        readCoalescing = max(.zero, window)
    }

    /// True once closed, by ``close()`` or by the loop shutting down.
    public var isClosed: Bool { closed }

    func ensureRegistered() throws {
        guard registration == nil, !closed else { return }
        registration = try loop.register(
            socket,
            interest: readPaused ? [] : .readable,
            coalescing: readCoalescing,
            handler: { [weak self] events in self?.assumeIsolated { $0.handleReady(events) } ?? false },
            onLoopShutdown: { [weak self] in self?.assumeIsolated { $0.closeNow() } })
    }

    // MARK: Sending

    /// Sends a multipart message; queues it if libzmq would block.
    @discardableResult
    public func send(_ frames: [[UInt8]]) throws -> SendResult {
        if let result = holdFrames(frames) { return result }
        return try send({ () throws(ZMQError) in try socket.send(frames) }, queueing: frames)
    }

    /// The one send path: `attempt` hands the message to libzmq now; `queued` is the message
    /// as frames, built only if it has to wait in the outbound queue (behind earlier ones, or
    /// because libzmq would block).
    @inline(__always)
    func send(_ attempt: () throws(ZMQError) -> Bool, queueing queued: @autoclosure () -> [[UInt8]]) throws -> SendResult {
        guard !closed else { throw ZMQError(code: ENOTSOCK, operation: "send", detail: "closed socket") }
        var built: [[UInt8]]?   // the frames, if built already (a ROUTER's check of its peer)
        if !outbound.isEmpty {
            // A DEALER's wait behind every earlier message; a ROUTER's behind those to their peer.
            guard type == .router else { return enqueueOutbound(queued()) }
            let frames = queued()
            if let peer = frames.first, waitingPeers.contains(peer) { return enqueueOutbound(frames) }
            built = frames
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
        return enqueueOutbound(built ?? queued())
    }

    /// Sends a message if libzmq takes it now; otherwise drops it (never queues). For
    /// messages that are stale by the time a queue would send them, such as heartbeats.
    @discardableResult
    public func sendOrDrop(_ frames: [[UInt8]]) -> Bool {
        flushHeld()
        guard !closed, outbound.isEmpty || (type == .router && !waitingPeers.contains(frames.first ?? [])) else {
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
        if type == .router, let peer = frames.first { waitingPeers.insert(peer) }
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

    func flushOutbound() {
        guard !closed else { return }
        defer { touched() }
        if type == .router {
            // Per peer: a blocked peer holds back only its own later messages, in order.
            var stillBlocked = Deque<[[UInt8]]>()
            var blockedPeers = Set<[UInt8]>()
            while let frames = outbound.popFirst() {
                let peer = frames.first ?? []
                if !blockedPeers.contains(peer) {
                    do {
                        if try socket.send(frames) { continue }
                    } catch {
                        droppedOutbound += 1
                        continue
                    }
                }
                stillBlocked.append(frames)
                blockedPeers.insert(peer)
            }
            outbound = stillBlocked
            waitingPeers = blockedPeers
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

    /// Messages waiting to be sent: in the outbound queue, or held until the turn's end.
    public var outboundQueued: Int { outbound.count + held.count }

    /// Drops every message waiting in the outbound queue (for example when its peer is gone
    /// and the caller re-sends them elsewhere); returns how many were dropped.
    @discardableResult
    public func discardOutbound() -> Int {
        let count = outbound.count + discardHeld()
        outbound.removeAll()
        waitingPeers.removeAll()
        updateInterest()
        return count
    }

    // MARK: Receiving

    /// Sends one request-reply envelope (routing ids, empty delimiter, `header`, `body`)
    /// without building a frame array; queues it (copied) if libzmq would block.
    @discardableResult
    public func sendEnvelope(routing: [[UInt8]], header: UnsafeRawBufferPointer, body: [UInt8]) throws -> SendResult {
        if let result = body.withUnsafeBytes({ holdEnvelope(routing: routing, header: header, body: $0) }) { return result }
        return try send({ () throws(ZMQError) in try socket.sendEnvelope(routing: routing, header: header, body: body) },
                 queueing: routing + [[], [UInt8](header), body])
    }

    /// ``sendEnvelope(routing:header:body:)`` with the body copied from a buffer (forwarding a
    /// received frame without copying it into an array first).
    @discardableResult
    public func sendEnvelope(routing: [[UInt8]], header: UnsafeRawBufferPointer, bodyBytes body: UnsafeRawBufferPointer) throws -> SendResult {
        if let result = holdEnvelope(routing: routing, header: header, body: body) { return result }
        return try send({ () throws(ZMQError) in try socket.sendEnvelope(routing: routing, header: header, bodyBytes: body) },
                 queueing: routing + [[], [UInt8](header), [UInt8](body)])
    }

    /// Returns whether the socket is settled (see `EventLoop.register`).
    private func handleReady(_ events: ZMQPollEvents) -> Bool {
        if events.contains(.writable) { flushOutbound() }
        if events.contains(.readable) { return drainInbound() }
        return false
    }

    /// Receives until nothing is waiting (true) or the budget or the buffer is used up (false).
    /// Hands every message already received to the handler now, as if the socket had fired
    /// (up to the receive budget). A monitor event and the data it follows arrive on two
    /// sockets, in no fixed order: read what a peer sent before acting on its going away.
    public func receivePending() {
        guard !closed else { return }
        _ = drainInbound()
    }

    private func drainInbound() -> Bool {
        var budget = receiveBudget
        if let framesHandler {
            defer { socket.releaseFrames() }
            while budget > 0, !closed {
                budget -= 1
                do {
                    guard let count = try socket.receiveFrames() else { return true }
                    framesHandler(socket.receivedFrames(count: count))
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

    func updateInterest() {
        guard let registration else { return }
        var interest: ZMQPollEvents = []
        if !readPaused { interest.insert(.readable) }
        if !outbound.isEmpty && type != .router { interest.insert(.writable) }
        loop.setInterest(registration, interest)
    }
}
