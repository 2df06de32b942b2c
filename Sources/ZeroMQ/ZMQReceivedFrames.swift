/// The frames of one received message, still in libzmq's buffers: a borrowed view, valid only
/// while the handler it was given to runs. Copy out what you keep (``bytes(_:)``).
public struct ZMQReceivedFrames {
    private unowned(unsafe) let socket: ZMQSocket
    /// Number of frames (one more than ``ZMQSocket/maxReceivedFrames`` if there were too many).
    public let count: Int

    init(socket: ZMQSocket, count: Int) {
        self.socket = socket
        self.count = count
    }

    /// Frame `index` without copying.
    public func withFrame<Result>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(socket.frameBytes(index))
    }

    /// The size of frame `index`.
    public func size(_ index: Int) -> Int { socket.frameBytes(index).count }

    /// A copy of frame `index`.
    public func bytes(_ index: Int) -> [UInt8] { [UInt8](socket.frameBytes(index)) }

    /// A metadata property of frame `index`, such as `User-Id` (set by the ZAP handler that
    /// admitted the peer) or `Peer-Address`.
    public func property(_ name: String, frame index: Int) -> String? {
        socket.frameProperty(index, name)
    }

    /// The file descriptor of the connection frame `index` came in on, if libzmq knows it.
    public func sourceDescriptor(frame index: Int) -> Int32? {
        socket.frameSourceDescriptor(index)
    }

    /// Copies of every frame.
    public var all: [[UInt8]] { (0..<count).map(bytes) }
}
