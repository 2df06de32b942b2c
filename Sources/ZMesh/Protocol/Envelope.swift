/// A decoded mesh message: the routing ids ROUTER hops pushed, the header, the body frames.
///
/// On the wire: `[routing id ...] [empty delimiter] [header] [body ...]`. A DEALER receives
/// no routing ids; a ROUTER receives one per hop, outermost first, and replies by sending
/// them back in the same order.
struct Envelope: Sendable {
    var routing: [[UInt8]]
    var header: Header
    var body: [[UInt8]]

    /// Limits a decoder enforces.
    struct Limits: Sendable {
        /// Most routing ids before the delimiter (client -> broker -> service is two).
        var maxHops = 8
        /// Most body frames.
        var maxBodyFrames = 16
        /// Most bytes in all frames together.
        var maxMessageBytes = 64 * 1024 * 1024
        static let `default` = Limits()
    }

    /// The frames to send: routing ids, delimiter, header, body.
    func frames() -> [[UInt8]] {
        Envelope.frames(routing: routing, header: header, body: body)
    }

    static func frames(routing: [[UInt8]], header: Header, body: [[UInt8]]) -> [[UInt8]] {
        var frames = [[UInt8]]()
        frames.reserveCapacity(routing.count + 2 + body.count)
        frames.append(contentsOf: routing)
        frames.append([])
        frames.append(header.encoded())
        frames.append(contentsOf: body)
        return frames
    }

    /// Decodes frames received on a ROUTER (`routed: true`, routing ids first) or a DEALER.
    ///
    /// Throws (typed) rather than returning a `Result`: a caller that switched over the
    /// `Result` copied the envelope out of it, a retain and a release of each array and string
    /// in it per message.
    static func decode<Frames: FrameSource>(_ frames: Frames, routed: Bool, limits: Limits = .default) throws(MalformedReason) -> Envelope {
        let count = frames.frameCount
        var index = 0
        if routed {
            var delimiter: Int?
            for candidate in 0..<count where frames.frameSize(candidate) == 0 {
                delimiter = candidate
                break
            }
            guard let delimiter, delimiter >= 1 else { throw .missingDelimiter }
            guard delimiter <= limits.maxHops else { throw .tooManyHops }
            index = delimiter + 1
        } else {
            guard count > 0, frames.frameSize(0) == 0 else { throw .missingDelimiter }
            index = 1
        }
        guard index < count else { throw .missingHeader }
        guard count - index - 1 <= limits.maxBodyFrames else { throw .tooManyFrames }
        var total = 0
        for frame in 0..<count { total += frames.frameSize(frame) }
        guard total <= limits.maxMessageBytes else { throw .tooLarge }
        switch frames.withFrameBytes(index, { Header.decode($0) }) {
        case .failure(let reason):
            throw reason
        case .success(let header):
            var routing: [[UInt8]] = []
            if routed {
                routing.reserveCapacity(index - 1)
                for hop in 0..<(index - 1) { routing.append(frames.frameArray(hop)) }
            }
            var body: [[UInt8]] = []
            if index + 1 < count {
                body.reserveCapacity(count - index - 1)
                for frame in (index + 1)..<count { body.append(frames.frameArray(frame)) }
            }
            return Envelope(routing: routing, header: header, body: body)
        }
    }

    /// The body as one payload: the single frame, or the frames joined.
    var payload: [UInt8] {
        body.count == 1 ? body[0] : body.flatMap { $0 }
    }
}
