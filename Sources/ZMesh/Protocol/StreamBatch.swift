/// Several messages of a stream in one frame (a partial REPLY with flag batch): each a 4-byte
/// big-endian length, then its bytes. docs/PROTOCOL.md, "Streams".
enum StreamBatch {
    /// Most bytes one batch frame carries before the next frame starts (a message larger than
    /// this goes alone).
    static let frameBytes = 64 * 1024

    /// `messages` as batch frames, in order, each at most ``frameBytes`` (or one message).
    static func frames(_ messages: [[UInt8]]) -> [[UInt8]] {
        var builder = Builder()
        for message in messages { builder.append(message) }
        return builder.take()
    }

    /// Builds batch frames a message at a time, as a stream's writer writes them: each
    /// message's bytes are copied once, into the frame that carries it.
    struct Builder {
        private var frames: [[UInt8]] = []
        private var frame: [UInt8] = []

        /// Adds `message` to the frame being built, starting a new one past ``frameBytes``.
        mutating func append(_ message: [UInt8]) {
            if !frame.isEmpty, frame.count + 4 + message.count > frameBytes {
                frames.append(frame)
                frame = []
            }
            if frame.isEmpty { frame.reserveCapacity(min(frameBytes, 4 + message.count + 4096)) }
            let length = UInt32(truncatingIfNeeded: message.count).bigEndian
            withUnsafeBytes(of: length) { frame.append(contentsOf: $0) }
            frame.append(contentsOf: message)
        }

        /// The frames built so far, the last one closed; the builder starts empty again.
        mutating func take() -> [[UInt8]] {
            if !frame.isEmpty {
                frames.append(frame)
                frame = []
            }
            defer { frames.removeAll(keepingCapacity: true) }
            return frames
        }

        /// Drops everything built.
        mutating func removeAll() {
            frames.removeAll()
            frame = []
        }
    }

    /// How many messages a batch frame holds, or nil if its lengths do not fill it exactly.
    /// Reads only the lengths: the messages stay in the frame until the reader takes them
    /// (``message(in:at:)``).
    static func count(_ frame: [UInt8]) -> Int? {
        frame.withUnsafeBytes { bytes -> Int? in
            var count = 0
            var offset = 0
            while offset < bytes.count {
                guard bytes.count - offset >= 4 else { return nil }
                let length = Int(bytes.loadBigEndian(UInt32.self, at: offset))
                offset += 4
                guard length <= bytes.count - offset else { return nil }
                offset += length
                count += 1
            }
            return count
        }
    }

    /// The message of a batch frame at `offset` (where its length starts) and the offset of the
    /// next; nil past the end or where the frame is cut short (checked by ``count(_:)`` first).
    static func message(in frame: [UInt8], at offset: Int) -> (message: [UInt8], next: Int)? {
        frame.withUnsafeBytes { bytes -> (message: [UInt8], next: Int)? in
            guard offset >= 0, bytes.count - offset >= 4 else { return nil }
            let length = Int(bytes.loadBigEndian(UInt32.self, at: offset))
            let start = offset + 4
            guard length <= bytes.count - start else { return nil }
            return (Array(UnsafeRawBufferPointer(rebasing: bytes[start..<(start + length)])), start + length)
        }
    }

    /// The messages of a batch frame, or nil if its lengths do not fill it exactly.
    static func messages(_ frame: [UInt8]) -> [[UInt8]]? {
        guard let count = count(frame) else { return nil }
        var messages: [[UInt8]] = []
        messages.reserveCapacity(count)
        var offset = 0
        while let (message, next) = message(in: frame, at: offset) {
            messages.append(message)
            offset = next
        }
        return messages
    }
}
