import Foundation
import Synchronization

/// Standard input, one line at a time, read on a thread of its own when asked for: a caller
/// that awaits ``next()`` never blocks a thread of the concurrency pool, and no more than one
/// line is read ahead of what the caller takes (a slow mesh never makes `zmesh` hold more of
/// a large input than that).
final class StandardInputLines: Sendable {
    private let requests = DispatchSemaphore(value: 0)
    private let waiting = Mutex<CheckedContinuation<String?, Never>?>(nil)

    init() {
        let thread = Thread { [self] in self.serve() }
        thread.name = "zmesh-stdin"
        thread.start()
    }

    /// The next line without its newline; nil at the end of the input.
    func next() async -> String? {
        await withCheckedContinuation { continuation in
            waiting.withLock { $0 = continuation }
            requests.signal()
        }
    }

    private func serve() {
        while true {
            requests.wait()
            let line = readLine(strippingNewline: true)
            let continuation = waiting.withLock { waiting -> CheckedContinuation<String?, Never>? in
                defer { waiting = nil }
                return waiting
            }
            continuation?.resume(returning: line)
            if line == nil { return }
        }
    }
}
