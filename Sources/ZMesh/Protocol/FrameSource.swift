import ZeroMQ

/// Frames a decoder can read: arrays (tests, queued messages) or a borrowed view of libzmq's
/// buffers (the receive path, with no copies but the ones a decoder keeps).
protocol FrameSource {
    var frameCount: Int { get }
    func frameSize(_ index: Int) -> Int
    func withFrameBytes<Result>(_ index: Int, _ body: (UnsafeRawBufferPointer) -> Result) -> Result
    func frameArray(_ index: Int) -> [UInt8]
}

extension Array: FrameSource where Element == [UInt8] {
    var frameCount: Int { count }
    func frameSize(_ index: Int) -> Int { self[index].count }
    func withFrameBytes<Result>(_ index: Int, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        self[index].withUnsafeBytes(body)
    }
    func frameArray(_ index: Int) -> [UInt8] { self[index] }
}

extension ZMQReceivedFrames: FrameSource {
    var frameCount: Int { count }
    func frameSize(_ index: Int) -> Int { size(index) }
    func withFrameBytes<Result>(_ index: Int, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        withFrame(index) { (bytes: UnsafeRawBufferPointer) -> Result in body(bytes) }
    }
    func frameArray(_ index: Int) -> [UInt8] { bytes(index) }
}
