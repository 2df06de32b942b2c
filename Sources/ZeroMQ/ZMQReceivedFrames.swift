internal import CZeroMQ

/// The frames of one received message, still in libzmq's buffers: a borrowed view, valid only
/// while the handler it was given to runs. Copy out what you keep (``bytes(_:)``).
///
/// It points at the socket's received messages rather than holding the socket: reading a
/// frame then touches no reference count (sockets are tracked weakly by their loop, so each
/// retain of one takes Swift's slow, side-table path).
public struct ZMQReceivedFrames {
    private let messages: UnsafeMutableRawPointer
    /// Number of frames (one more than ``ZMQSocket/maxReceivedFrames`` if there were too many).
    public let count: Int

    init(messages: UnsafeMutableRawPointer, count: Int) {
        self.messages = messages
        self.count = count
    }

    @inline(__always)
    private func message(_ index: Int) -> UnsafeMutablePointer<zmq_msg_t> {
        precondition(index >= 0 && index < count, "frame \(index) of \(count)")
        return messages.assumingMemoryBound(to: zmq_msg_t.self) + index
    }

    @inline(__always)
    private func frameBytes(_ index: Int) -> UnsafeRawBufferPointer {
        let slot = message(index)
        return UnsafeRawBufferPointer(start: zmq_msg_data(slot), count: zmq_msg_size(slot))
    }

    /// Frame `index` without copying.
    public func withFrame<Result>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(frameBytes(index))
    }

    /// The size of frame `index`.
    public func size(_ index: Int) -> Int { zmq_msg_size(message(index)) }

    /// A copy of frame `index`.
    public func bytes(_ index: Int) -> [UInt8] { [UInt8](frameBytes(index)) }

    /// A metadata property of frame `index`, such as `User-Id` (set by the ZAP handler that
    /// admitted the peer) or `Peer-Address`.
    public func property(_ name: String, frame index: Int) -> String? {
        guard let value = zmq_msg_gets(message(index), name) else { return nil }
        return String(cString: value)
    }

    /// The file descriptor of the connection frame `index` came in on, if libzmq knows it.
    public func sourceDescriptor(frame index: Int) -> Int32? {
        let fd = zmq_msg_get(message(index), ZMQ_SRCFD)
        return fd >= 0 ? fd : nil
    }

    /// Copies of every frame.
    public var all: [[UInt8]] { (0..<count).map(bytes) }
}
