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
    static func decode(_ frames: [[UInt8]], routed: Bool, limits: Limits = .default) -> Result<Envelope, MalformedReason> {
        var index = 0
        if routed {
            guard let delimiter = frames.firstIndex(where: { $0.isEmpty }) else { return .failure(.missingDelimiter) }
            guard delimiter >= 1 else { return .failure(.missingDelimiter) }
            guard delimiter <= limits.maxHops else { return .failure(.tooManyHops) }
            index = delimiter + 1
        } else {
            guard let first = frames.first, first.isEmpty else { return .failure(.missingDelimiter) }
            index = 1
        }
        guard index < frames.count else { return .failure(.missingHeader) }
        guard frames.count - index - 1 <= limits.maxBodyFrames else { return .failure(.tooManyFrames) }
        var total = 0
        for frame in frames { total += frame.count }
        guard total <= limits.maxMessageBytes else { return .failure(.tooLarge) }
        switch Header.decode(frames[index]) {
        case .failure(let reason):
            return .failure(reason)
        case .success(let header):
            return .success(Envelope(
                routing: routed ? Array(frames[0..<(index - 1)]) : [],
                header: header,
                body: Array(frames[(index + 1)...])))
        }
    }
}
