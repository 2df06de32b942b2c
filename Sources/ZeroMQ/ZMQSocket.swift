internal import CZeroMQ
#if canImport(Glibc)
import Glibc
#endif

/// One libzmq socket. Not `Sendable`: a libzmq socket must be used by one thread only.
///
/// In the mesh every socket is created, used and closed on the thread of the ``EventLoop``
/// that owns it (through a ``ZMQSocketActor`` or an actor isolated to that loop), so the
/// compiler's `Sendable` checking is what keeps this type on its thread.
///
/// Frames are `[UInt8]`. Sends never block: they return `false` when libzmq would block
/// (the caller queues and waits for `POLLOUT`). Frames of ``zeroCopyThreshold`` bytes or
/// more are handed to libzmq without a copy: the array's storage is kept alive until
/// libzmq's I/O thread is done with it.
public final class ZMQSocket {
    /// Frames at least this large are sent without copying.
    public static let zeroCopyThreshold = 8 * 1024

    /// The socket pattern.
    public let type: ZMQSocketType
    private var rawHandle: UnsafeMutableRawPointer?
    /// Scratch message used by receive and zero-copy send; a zmq_msg_t must not move while in use.
    private let scratch: UnsafeMutablePointer<zmq_msg_t>
    /// Frames of the last ``receiveFrames()``, still owned by libzmq until the next one.
    private let received: UnsafeMutablePointer<zmq_msg_t>
    private var receivedCount = 0
    /// Most frames ``receiveFrames()`` keeps; a longer message is reported as one frame longer.
    public static let maxReceivedFrames = 32

    /// Creates a socket of `type` in `context`.
    public init(context: ZMQContext, type: ZMQSocketType) throws(ZMQError) {
        if context.isTerminated { throw ZMQError(code: ETERM, operation: "zmq_socket", detail: "the context was terminated") }
        guard let handle = zmq_socket(context.handle, type.raw) else {
            throw ZMQError.last("zmq_socket", type.description)
        }
        self.type = type
        self.rawHandle = handle
        self.scratch = .allocate(capacity: 1)
        self.received = .allocate(capacity: Self.maxReceivedFrames + 1)
        // Never block process exit on unsent messages unless a caller asks for it.
        var zero: Int32 = 0
        zmq_setsockopt(handle, ZMQ_LINGER, &zero, MemoryLayout<Int32>.size)
    }

    deinit {
        releaseFrames()
        close()
        scratch.deallocate()
        received.deallocate()
    }

    /// The raw `void *` (the loop reads its `ZMQ_FD` and `ZMQ_EVENTS`); nil once closed.
    var handle: UnsafeMutableRawPointer? { rawHandle }

    /// True once ``close()`` ran.
    public var isClosed: Bool { rawHandle == nil }

    private func live(_ operation: String) throws(ZMQError) -> UnsafeMutableRawPointer {
        guard let handle = rawHandle else { throw ZMQError(code: ENOTSOCK, operation: operation, detail: "closed socket") }
        return handle
    }

    /// Closes the socket. Idempotent.
    public func close() {
        if let handle = rawHandle {
            zmq_close(handle)
            rawHandle = nil
        }
    }

    // MARK: Endpoints

    /// Binds to `endpoint` (for example `tcp://127.0.0.1:5601`, or `tcp://127.0.0.1:*` for any port).
    public func bind(_ endpoint: String) throws(ZMQError) {
        let handle = try live("bind")
        if zmq_bind(handle, endpoint) != 0 { throw ZMQError.last("bind", endpoint) }
    }

    /// Connects to `endpoint`; libzmq connects (and reconnects) in the background.
    public func connect(_ endpoint: String) throws(ZMQError) {
        let handle = try live("connect")
        if zmq_connect(handle, endpoint) != 0 { throw ZMQError.last("connect", endpoint) }
    }

    /// Drops a connection made by ``connect(_:)``.
    public func disconnect(_ endpoint: String) throws(ZMQError) {
        let handle = try live("disconnect")
        if zmq_disconnect(handle, endpoint) != 0 { throw ZMQError.last("disconnect", endpoint) }
    }

    /// Stops listening on an endpoint made by ``bind(_:)``.
    public func unbind(_ endpoint: String) throws(ZMQError) {
        let handle = try live("unbind")
        if zmq_unbind(handle, endpoint) != 0 { throw ZMQError.last("unbind", endpoint) }
    }

    /// The endpoint last bound, with a wildcard port resolved (`ZMQ_LAST_ENDPOINT`).
    public func lastEndpoint() throws(ZMQError) -> String {
        let handle = try live("getsockopt")
        var buffer = [CChar](repeating: 0, count: 256)
        var size = buffer.count
        if zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size) != 0 {
            throw ZMQError.last("getsockopt", "ZMQ_LAST_ENDPOINT")
        }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: Options

    /// Sets one option.
    public func set(_ option: ZMQSocketOption) throws(ZMQError) {
        let handle = try live("setsockopt")
        let rc: Int32
        switch option.raw {
        case .int32(let name, var value):
            rc = zmq_setsockopt(handle, name, &value, MemoryLayout<Int32>.size)
        case .int64(let name, var value):
            rc = zmq_setsockopt(handle, name, &value, MemoryLayout<Int64>.size)
        case .bytes(let name, let value):
            rc = value.withUnsafeBytes { zmq_setsockopt(handle, name, $0.baseAddress, $0.count) }
        }
        if rc != 0 { throw ZMQError.last("setsockopt", option.name) }
    }

    /// Sets several options in order.
    public func set(_ options: [ZMQSocketOption]) throws(ZMQError) {
        for option in options { try set(option) }
    }

    // MARK: Sending

    /// Sends a multipart message without blocking.
    ///
    /// - Returns: `false` if libzmq would block (high-water mark reached, or no peer with
    ///   `ZMQ_IMMEDIATE`); nothing was sent then. libzmq accepts the remaining frames of a
    ///   message once it took the first, so a message is sent whole or not at all.
    /// - Throws: ``ZMQError`` for other failures, such as `EHOSTUNREACH` from a ROUTER
    ///   with `ZMQ_ROUTER_MANDATORY` when the addressed peer is gone.
    @discardableResult
    public func send(_ frames: [[UInt8]]) throws(ZMQError) -> Bool {
        let handle = try live("send")
        let last = frames.count - 1
        guard last >= 0 else { return true }
        for index in 0...last {
            var flags = ZMQ_DONTWAIT
            if index < last { flags |= ZMQ_SNDMORE }
            guard try accepted(sendFrame(handle, frames[index], flags: flags), first: index == 0) else { return false }
        }
        return true
    }

    /// One frame's send result: `false` when the message's first frame would block (nothing
    /// was sent; libzmq takes the rest of a message once it took the first frame), thrown
    /// for any other failure.
    private func accepted(_ rc: Int32, first: Bool) throws(ZMQError) -> Bool {
        guard rc < 0 else { return true }
        let error = ZMQError.last("send", type.description)
        if first && error.wouldBlock { return false }
        throw error
    }

    private func sendFrame(_ handle: UnsafeMutableRawPointer, _ frame: [UInt8], flags: Int32) -> Int32 {
        if frame.count < Self.zeroCopyThreshold {
            return frame.withUnsafeBytes { bytes in uninterrupted { zmq_send(handle, bytes.baseAddress, bytes.count, flags) } }
        }
        // Zero copy: libzmq reads the array's storage until its I/O thread calls `releaseFrameStorage`.
        let box = Unmanaged.passRetained(FrameStorage(frame))
        let rc: Int32 = frame.withUnsafeBytes { bytes in
            zmq_msg_init_data(scratch, UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count,
                              releaseFrameStorage, box.toOpaque())
        }
        if rc != 0 {
            box.release()
            return rc
        }
        let sent = uninterrupted { zmq_msg_send(scratch, handle, flags) }
        if sent < 0 { zmq_msg_close(scratch) }   // on failure the message is still ours to close
        return sent
    }

    /// Sends one request-reply envelope: the routing ids, an empty delimiter, a header copied
    /// from `header`, then `body` (zero-copy when large), without building a frame array.
    ///
    /// - Returns: `false` if libzmq would block; nothing was sent then.
    public func sendEnvelope(routing: [[UInt8]], header: UnsafeRawBufferPointer, body: [UInt8]) throws(ZMQError) -> Bool {
        let handle = try live("send")
        guard try sendEnvelopeHead(handle, routing: routing, header: header) else { return false }
        return try accepted(sendFrame(handle, body, flags: ZMQ_DONTWAIT), first: false)
    }

    /// ``sendEnvelope(routing:header:body:)`` with the body copied from a buffer (forwarding a
    /// frame received with ``receiveFrames()``, say).
    public func sendEnvelope(routing: [[UInt8]], header: UnsafeRawBufferPointer, bodyBytes body: UnsafeRawBufferPointer) throws(ZMQError) -> Bool {
        let handle = try live("send")
        guard try sendEnvelopeHead(handle, routing: routing, header: header) else { return false }
        return try accepted(uninterrupted { zmq_send(handle, body.baseAddress, body.count, ZMQ_DONTWAIT) }, first: false)
    }

    /// Sends one message whose frames lie back to back in `bytes`, `frameLengths` long each
    /// (a message held by a coalescing ``ZMQSocketActor``).
    ///
    /// - Returns: `false` if libzmq would block; nothing was sent then.
    public func send(packed bytes: UnsafeRawBufferPointer, frameLengths: ArraySlice<Int32>) throws(ZMQError) -> Bool {
        let handle = try live("send")
        var offset = 0
        for index in frameLengths.indices {
            let length = Int(frameLengths[index])
            var flags = ZMQ_DONTWAIT
            if index < frameLengths.endIndex - 1 { flags |= ZMQ_SNDMORE }
            let rc = uninterrupted { zmq_send(handle, bytes.baseAddress.map { $0 + offset }, length, flags) }
            guard try accepted(rc, first: index == frameLengths.startIndex) else { return false }
            offset += length
        }
        return true
    }

    /// The routing ids, the empty delimiter and the header, each with SNDMORE.
    private func sendEnvelopeHead(_ handle: UnsafeMutableRawPointer, routing: [[UInt8]],
                                  header: UnsafeRawBufferPointer) throws(ZMQError) -> Bool {
        var first = true
        for id in routing {
            guard try accepted(sendFrame(handle, id, flags: ZMQ_DONTWAIT | ZMQ_SNDMORE), first: first) else { return false }
            first = false
        }
        guard try accepted(uninterrupted { zmq_send(handle, nil, 0, ZMQ_DONTWAIT | ZMQ_SNDMORE) }, first: first) else { return false }
        return try accepted(uninterrupted { zmq_send(handle, header.baseAddress, header.count, ZMQ_DONTWAIT | ZMQ_SNDMORE) }, first: false)
    }

    // MARK: Receiving

    /// Receives one whole message into this socket's own frame buffers, without copying it;
    /// nil if none is waiting. The frames stay valid until the next call (or
    /// ``releaseFrames()``); read them with ``frameBytes(_:)``. A message of more than
    /// ``maxReceivedFrames`` frames is read whole but reported as `maxReceivedFrames + 1`
    /// frames, so decoders can refuse it.
    public func receiveFrames() throws(ZMQError) -> Int? {
        let handle = try live("receive")
        releaseFrames()
        var more = true
        var count = 0
        while more {
            let slot = received + min(count, Self.maxReceivedFrames)
            if count > Self.maxReceivedFrames { zmq_msg_close(slot) }   // keep the overflow slot, drop the rest
            zmq_msg_init(slot)
            if uninterrupted({ zmq_msg_recv(slot, handle, ZMQ_DONTWAIT) }) < 0 {
                let error = ZMQError.last("receive", type.description)
                zmq_msg_close(slot)
                receivedCount = min(count, Self.maxReceivedFrames + 1)
                if error.wouldBlock && count == 0 { return nil }
                throw error
            }
            more = zmq_msg_more(slot) != 0
            count += 1
        }
        receivedCount = min(count, Self.maxReceivedFrames + 1)
        return receivedCount
    }

    /// The frames of the last ``receiveFrames()`` (`count` of them), as a borrowed view.
    func receivedFrames(count: Int) -> ZMQReceivedFrames {
        ZMQReceivedFrames(messages: UnsafeMutableRawPointer(received), count: count)
    }

    /// The bytes of frame `index` of the last ``receiveFrames()``.
    public func frameBytes(_ index: Int) -> UnsafeRawBufferPointer {
        precondition(index >= 0 && index < receivedCount, "frame \(index) of \(receivedCount)")
        let slot = received + index
        return UnsafeRawBufferPointer(start: zmq_msg_data(slot), count: zmq_msg_size(slot))
    }

    /// A metadata property of frame `index` of the last ``receiveFrames()`` (`zmq_msg_gets`),
    /// such as `User-Id` (what the ZAP handler said of the peer) or `Peer-Address`.
    public func frameProperty(_ index: Int, _ name: String) -> String? {
        precondition(index >= 0 && index < receivedCount, "frame \(index) of \(receivedCount)")
        guard let value = zmq_msg_gets(received + index, name) else { return nil }
        return String(cString: value)
    }

    /// The file descriptor of the connection frame `index` came in on (`ZMQ_SRCFD`), to match
    /// a peer with the monitor's disconnect events (whose value is that descriptor).
    public func frameSourceDescriptor(_ index: Int) -> Int32? {
        precondition(index >= 0 && index < receivedCount, "frame \(index) of \(receivedCount)")
        let fd = zmq_msg_get(received + index, ZMQ_SRCFD)
        return fd >= 0 ? fd : nil
    }

    /// Gives the frames of the last ``receiveFrames()`` back to libzmq.
    public func releaseFrames() {
        for index in 0..<receivedCount { zmq_msg_close(received + index) }
        receivedCount = 0
    }

    /// Receives one whole multipart message without blocking; nil if none is waiting.
    public func receive() throws(ZMQError) -> [[UInt8]]? {
        let handle = try live("receive")
        var frames: [[UInt8]] = []
        frames.reserveCapacity(4)
        var more = true
        while more {
            zmq_msg_init(scratch)
            if uninterrupted({ zmq_msg_recv(scratch, handle, ZMQ_DONTWAIT) }) < 0 {
                let error = ZMQError.last("receive", type.description)
                zmq_msg_close(scratch)
                if error.wouldBlock && frames.isEmpty { return nil }
                throw error
            }
            let size = zmq_msg_size(scratch)
            let data = zmq_msg_data(scratch)
            frames.append([UInt8](UnsafeRawBufferPointer(start: data, count: size)))
            more = zmq_msg_more(scratch) != 0
            zmq_msg_close(scratch)
        }
        return frames
    }

    // MARK: Monitoring

    /// Starts a monitor that publishes `events` of this socket on a PAIR at `endpoint` (inproc).
    public func startMonitor(endpoint: String, events: ZMQMonitorEvents) throws(ZMQError) {
        let handle = try live("zmq_socket_monitor")
        if zmq_socket_monitor(handle, endpoint, events.rawValue) != 0 {
            throw ZMQError.last("zmq_socket_monitor", endpoint)
        }
    }

    /// Stops this socket's monitor.
    public func stopMonitor() {
        if let handle = rawHandle { zmq_socket_monitor(handle, nil, 0) }
    }
}

/// Keeps a frame's bytes alive while libzmq sends them without copying.
private final class FrameStorage {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }
}

private let releaseFrameStorage: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void = { _, hint in
    guard let hint else { return }
    Unmanaged<FrameStorage>.fromOpaque(hint).release()
}

/// Readiness flags as `zmq_poll` reports them.
public struct ZMQPollEvents: OptionSet, Sendable {
    public let rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }
    /// A message can be received.
    public static let readable = ZMQPollEvents(rawValue: Int16(ZMQ_POLLIN))
    /// A message can be sent.
    public static let writable = ZMQPollEvents(rawValue: Int16(ZMQ_POLLOUT))
}
