/// Frames a decoder can read: arrays (tests, queued messages) or a borrowed view of libzmq's
/// buffers (the receive path, with no copies but the ones a decoder keeps).
package protocol FrameSource {
    var frameCount: Int { get }
    func frameSize(_ index: Int) -> Int
    func withFrameBytes<Result>(_ index: Int, _ body: (UnsafeRawBufferPointer) -> Result) -> Result
    func frameArray(_ index: Int) -> [UInt8]
}

extension Array: FrameSource where Element == [UInt8] {
    package var frameCount: Int { count }
    package func frameSize(_ index: Int) -> Int { self[index].count }
    package func withFrameBytes<Result>(_ index: Int, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        self[index].withUnsafeBytes(body)
    }
    package func frameArray(_ index: Int) -> [UInt8] { self[index] }
}

