/// Messages a coalescing ``ZMQSocketActor`` holds until the end of its loop's turn, packed
/// back to back in one byte buffer: holding a message copies its bytes once and allocates
/// nothing once the buffers have grown to a turn's worth.
struct HeldMessages {
    private var bytes: [UInt8] = []
    private var frameLengths: [Int32] = []
    /// Per message: the index of its first frame in `frameLengths`, of its first byte in `bytes`.
    private var starts: [(frame: Int, byte: Int)] = []

    var count: Int { starts.count }
    var isEmpty: Bool { starts.isEmpty }
    var byteCount: Int { bytes.count }

    /// Holds a request-reply envelope: the routing ids, the empty delimiter, `header`, `body`.
    mutating func appendEnvelope(routing: [[UInt8]], header: UnsafeRawBufferPointer, body: UnsafeRawBufferPointer) {
        starts.append((frameLengths.count, bytes.count))
        for id in routing { appendFrame(id) }
        frameLengths.append(0)
        appendFrame(header)
        appendFrame(body)
    }

    /// Holds a message of whole frames.
    mutating func append(_ frames: [[UInt8]]) {
        starts.append((frameLengths.count, bytes.count))
        for frame in frames { appendFrame(frame) }
    }

    private mutating func appendFrame(_ frame: [UInt8]) {
        frame.withUnsafeBytes { appendFrame($0) }
    }

    private mutating func appendFrame(_ frame: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: frame)
        frameLengths.append(Int32(frame.count))
    }

    /// Calls `body` with message `index`'s bytes and frame lengths.
    func withMessage<R>(_ index: Int, _ body: (UnsafeRawBufferPointer, ArraySlice<Int32>) throws -> R) rethrows -> R {
        let start = starts[index]
        let end = index + 1 < starts.count ? starts[index + 1] : (frame: frameLengths.count, byte: bytes.count)
        return try bytes.withUnsafeBytes { all in
            try body(UnsafeRawBufferPointer(rebasing: all[start.byte..<end.byte]), frameLengths[start.frame..<end.frame])
        }
    }

    /// Message `index` as frame arrays (to wait in the outbound queue).
    func frames(of index: Int) -> [[UInt8]] {
        withMessage(index) { bytes, lengths in
            var offset = 0
            return lengths.map { length in
                defer { offset += Int(length) }
                return [UInt8](UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + Int(length)]))
            }
        }
    }

    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        frameLengths.removeAll(keepingCapacity: true)
        starts.removeAll(keepingCapacity: true)
    }
}
