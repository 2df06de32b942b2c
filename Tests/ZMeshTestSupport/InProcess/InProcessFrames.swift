import ZMesh

/// A message as an in-process socket hands it over: copied frames, and the connection they
/// came on.
package struct InProcessFrames: ReceivedFrames {
    package let frames: [[UInt8]]
    package let connectionID: Int32

    package var frameCount: Int { frames.count }
    package func frameSize(_ index: Int) -> Int { frames[index].count }
    package func withFrameBytes<Result>(_ index: Int, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        frames[index].withUnsafeBytes(body)
    }
    package func frameArray(_ index: Int) -> [UInt8] { frames[index] }
    /// No security in process: no peer names.
    package func peerName(frame index: Int) -> String? { nil }
    package func connection(frame index: Int) -> Int32? { connectionID }
}
