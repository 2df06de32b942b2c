import Synchronization

/// One server stream's messages on their way out, shared by its handler's writer (any
/// thread) and the node's loop: a write within the caller's credit is queued here and
/// returns at once, without a hop to the loop; the loop takes what is queued and sends it.
/// For a caller that takes batches, writes go straight into batch frames
/// (``StreamBatch/Builder``), so the loop only sends whole frames. A write without credit
/// waits here (`Waiter`: the writer's continuation in a node) until a CREDIT comes. Holds at
/// most the credit in messages. Tested alone.
///
/// **Flush coalescing.** A writer asks the loop to flush (a wake-up of its thread) for the
/// first message after a flush. When a flush found a burst (``ServerStreamTuning/burst``
/// messages or more: the writer writes much faster than the loop takes), the loop lingers: it flushes again after
/// ``ServerStreamTuning/linger`` by its own timer, and writes meanwhile ask for nothing unless
/// ``ServerStreamTuning/flushMessages`` or ``ServerStreamTuning/flushBytes`` are queued or the
/// credit runs out (then at once). A linger flush that finds nothing ends the lingering, so
/// the next write asks again. So a fast writer's messages go in large frames with few
/// wake-ups; a lone message, a reply to a ping or a small group of them goes at once; and
/// nothing waits longer than the linger.
final class StreamOutbox<Waiter: Sendable>: Sendable {
    private struct State {
        var credit: Int
        /// Messages to send one a frame (a caller that takes no batches).
        var queued: [[UInt8]] = []
        /// Batch frames, for a caller that takes them.
        var batch = StreamBatch.Builder()
        var waiting: (payload: [UInt8], waiter: Waiter)?
        var stopped = false
        /// A flush is asked of the loop and has not taken the queue yet.
        var flushAsked = false
        /// The loop holds a linger timer for this stream.
        var lingering = false
        /// Messages and bytes queued since the last flush.
        var pendingMessages = 0
        var pendingBytes = 0
        var sent = 0
    }

    private let state: Mutex<State>
    /// Writes go into batch frames.
    let batches: Bool

    init(credit: Int, batches: Bool = false) {
        state = Mutex(State(credit: min(max(0, credit), StreamCredit.most)))
        self.batches = batches
    }

    /// What became of a write.
    enum WriteOutcome: Equatable {
        /// Queued within credit; `askFlush`: the loop must be asked to flush.
        case queued(askFlush: Bool)
        /// No credit: the writer must wait (``wait(_:_:)``).
        case noCredit
        /// The stream is over: the writer throws.
        case stopped
    }

    /// A write, without waiting.
    func offer(_ payload: [UInt8]) -> WriteOutcome {
        state.withLock { state in
            guard !state.stopped, state.waiting == nil else { return .stopped }
            guard state.credit > 0 else { return .noCredit }
            return queue(payload, &state)
        }
    }

    /// A write that found no credit, now waiting with `waiter`: `.noCredit` if it waits
    /// (a grant will hand the waiter back), or what became of it if credit came meanwhile
    /// (then the caller resumes the waiter itself).
    func wait(_ payload: [UInt8], _ waiter: Waiter) -> WriteOutcome {
        state.withLock { state in
            guard !state.stopped, state.waiting == nil else { return .stopped }
            guard state.credit > 0 else {
                state.waiting = (payload, waiter)
                return .noCredit
            }
            return queue(payload, &state)
        }
    }

    private func queue(_ payload: [UInt8], _ state: inout State) -> WriteOutcome {
        state.credit -= 1
        state.sent += 1
        state.pendingMessages += 1
        state.pendingBytes += payload.count
        if batches {
            state.batch.append(payload)
        } else {
            state.queued.append(payload)
        }
        let urgent = state.credit == 0 || state.pendingMessages >= ServerStreamTuning.flushMessages
            || state.pendingBytes >= ServerStreamTuning.flushBytes
        let ask = !state.flushAsked && (urgent || !state.lingering)
        if ask { state.flushAsked = true }
        return .queued(askFlush: ask)
    }

    /// What a flush took.
    struct Taken {
        /// The bodies of the partial REPLYs to send, in order: every queued message, or for a
        /// caller that takes batches, batch frames holding them.
        var bodies: [[UInt8]]
        /// The loop must start a linger timer (the flush found a burst, and none runs).
        var startLinger = false
    }

    /// The loop's flush, asked by the writer (or for a grant, or the end of the handler).
    func take() -> Taken {
        state.withLock { state in
            let burst = state.pendingMessages >= ServerStreamTuning.burst
            var taken = Taken(bodies: Self.takeBodies(&state, batches: batches))
            if burst, !state.lingering, !state.stopped {
                state.lingering = true
                taken.startLinger = true
            }
            return taken
        }
    }

    /// The loop's linger timer fired: what is queued, and whether to linger on (it found
    /// something; if not, the lingering ends and the next write asks for a flush).
    func takeLingering() -> (bodies: [[UInt8]], lingerOn: Bool) {
        state.withLock { state in
            let bodies = Self.takeBodies(&state, batches: batches)
            state.lingering = !bodies.isEmpty && !state.stopped
            return (bodies, state.lingering)
        }
    }

    private static func takeBodies(_ state: inout State, batches: Bool) -> [[UInt8]] {
        state.flushAsked = false
        state.pendingMessages = 0
        state.pendingBytes = 0
        if batches { return state.batch.take() }
        defer { state.queued.removeAll(keepingCapacity: true) }
        return state.queued
    }

    /// The caller granted `count` more. Returns the writer that waited, its message now
    /// queued (resume it; the loop then flushes).
    func grant(_ count: Int) -> Waiter? {
        state.withLock { state in
            guard !state.stopped else { return nil }
            state.credit = min(state.credit + max(0, count), StreamCredit.most)
            guard let waiting = state.waiting, state.credit > 0 else { return nil }
            state.waiting = nil
            _ = queue(waiting.payload, &state)
            return waiting.waiter
        }
    }

    /// The stream is over for its writer: later writes throw, nothing queued is sent.
    /// Returns the writer that waited, to resume with `CancellationError`.
    func stop() -> Waiter? {
        state.withLock { state in
            state.stopped = true
            state.queued.removeAll()
            state.batch.removeAll()
            defer { state.waiting = nil }
            return state.waiting?.waiter
        }
    }

    /// Messages written so far (queued ones included).
    var sent: Int { state.withLock { $0.sent } }
}

/// How a service node coalesces a server stream's flushes (see ``StreamOutbox``).
enum ServerStreamTuning {
    /// Messages a flush must find for the loop to linger: fewer (a reply, a few) never wait.
    static let burst = 16
    /// Messages queued that make a write ask for a flush even while the loop lingers.
    static let flushMessages = 1024
    /// Bytes queued that do the same: half a batch frame.
    static let flushBytes = StreamBatch.frameBytes / 2
    /// How long the loop waits after flushing a burst before it flushes again. The loop's
    /// timers wait in whole milliseconds.
    static let linger = Duration.milliseconds(1)
}
