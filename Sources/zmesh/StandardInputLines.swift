import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Standard input, one line at a time, read on a thread of its own when asked for: a caller
/// that awaits ``next()`` never blocks a thread of the concurrency pool.
///
/// Each read takes what standard input has at that moment (up to ``blockBytes``, waiting only
/// for the first byte), so piped input crosses between the threads a block of lines at a
/// time, while a line typed at a terminal goes as soon as it is complete. At most one block
/// is read ahead of what the caller takes: a slow mesh never makes `zmesh` hold more of a
/// large input than that.
final class StandardInputLines: Sendable {
    /// Most bytes one read takes.
    static let blockBytes = 64 * 1024

    private let requests = DispatchSemaphore(value: 0)
    private let waiting = Mutex<CheckedContinuation<[String]?, Never>?>(nil)
    /// The block being taken, and the index of its next line.
    private let block = Mutex<(lines: [String], next: Int)>(([], 0))

    init() {
        let thread = Thread { [self] in self.serve() }
        thread.name = "zmesh-stdin"
        thread.start()
    }

    /// The next line without its newline; nil at the end of the input.
    func next() async -> String? {
        let buffered = block.withLock { block -> String? in
            guard block.next < block.lines.count else { return nil }
            defer { block.next += 1 }
            return block.lines[block.next]
        }
        if let buffered { return buffered }
        let lines = await withCheckedContinuation { continuation in
            waiting.withLock { $0 = continuation }
            requests.signal()
        }
        guard let lines, let first = lines.first else { return nil }
        block.withLock { $0 = (lines, 1) }
        return first
    }

    private func serve() {
        var reader = LineReader(descriptor: 0)
        while true {
            requests.wait()
            let lines = reader.nextLines()
            let continuation = waiting.withLock { waiting -> CheckedContinuation<[String]?, Never>? in
                defer { waiting = nil }
                return waiting
            }
            continuation?.resume(returning: lines)
            if lines == nil { return }
        }
    }
}

/// The lines of a file descriptor, a read at a time.
struct LineReader {
    let descriptor: Int32
    /// A line the last read cut short.
    private var partial: [UInt8] = []
    private var ended = false
    /// What each read fills, kept from one read to the next.
    private var buffer = [UInt8](repeating: 0, count: StandardInputLines.blockBytes)

    init(descriptor: Int32) { self.descriptor = descriptor }

    /// The complete lines of the next reads, at least one (reading on until a newline or the
    /// end comes), without their newlines (`\n` or `\r\n`); a last line without a newline
    /// counts at the end. Nil at the end of the input, or on a read error.
    mutating func nextLines() -> [String]? {
        while !ended {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                ended = true
                break
            }
            var lines: [String] = []
            var start = 0
            for index in 0..<count where buffer[index] == UInt8(ascii: "\n") {
                partial.append(contentsOf: buffer[start..<index])
                lines.append(Self.text(partial))
                partial.removeAll(keepingCapacity: true)
                start = index + 1
            }
            partial.append(contentsOf: buffer[start..<count])
            if !lines.isEmpty { return lines }
        }
        guard !partial.isEmpty else { return nil }
        defer { partial = [] }
        return [Self.text(partial)]
    }

    /// A line's bytes as text, without a trailing carriage return (invalid UTF-8 repaired).
    private static func text(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.last == UInt8(ascii: "\r") ? bytes.dropLast() : bytes[...], as: UTF8.self)
    }
}
