import ZeroMQ

/// libzmq's received frames, read in place by the mesh's decoders.
extension ZMQReceivedFrames: ReceivedFrames {
    package var frameCount: Int { count }
    package func frameSize(_ index: Int) -> Int { size(index) }
    package func withFrameBytes<Result>(_ index: Int, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        withFrame(index) { (bytes: UnsafeRawBufferPointer) -> Result in body(bytes) }
    }
    package func frameArray(_ index: Int) -> [UInt8] { bytes(index) }
    /// The `User-Id` the ZAP handler gave the connection: the owner of the peer's CURVE key.
    package func peerName(frame index: Int) -> String? { property("User-Id", frame: index) }
    /// The file descriptor of the connection, as monitor events report it.
    package func connection(frame index: Int) -> Int32? { sourceDescriptor(frame: index) }
}
