import Synchronization

/// A stream's credit limits.
enum StreamCredit {
    /// The credit a stream starts with when its request names none.
    static let initial: UInt16 = 64
    /// Most credit a stream may hold, however much a caller grants (bounds what one caller
    /// could make a handler send at once, and keeps the sum from overflowing).
    static let most = 1 << 20
}

/// One server stream's messages on their way out, shared by its handler's writer (any
/// thread) and the node's loop: a write within the caller's credit is queued here and
/// returns at once, without a hop to the loop; the loop takes what is queued and sends it.
/// For a caller that takes batches, writes go straight into batch frames (``StreamBatch/Builder``),
/// so the loop only sends whole frames. A write without credit waits
/// here (`Waiter`: the writer's continuation in a node) until a CREDIT comes. Holds at most
/// the credit in messages. Tested alone.
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
        /// Queued within credit; `askFlush`: the loop must be asked to flush (the first
        /// message since its last flush).
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
        if batches {
            state.batch.append(payload)
        } else {
            state.queued.append(payload)
        }
        let ask = !state.flushAsked
        state.flushAsked = true
        return .queued(askFlush: ask)
    }

    /// The loop's flush: the bodies of the partial REPLYs to send, in order: every queued
    /// message, or for a caller that takes batches, batch frames holding them.
    func take() -> [[UInt8]] {
        state.withLock { state in
            state.flushAsked = false
            if batches { return state.batch.take() }
            defer { state.queued.removeAll(keepingCapacity: true) }
            return state.queued
        }
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

/// The server streams a service node is sending, by request id: where each goes and its
/// outbox. Loop-confined (``ServiceCore``); one entry per running streaming handler, so
/// bounded by the node's handler limit.
struct ServerStreams<Waiter: Sendable> {
    struct Stream {
        let route: [[UInt8]]
        /// Its writes; batch frames when the caller takes several messages to a frame
        /// (REQUEST flag batch).
        let outbox: StreamOutbox<Waiter>
    }

    private var streams: [RequestID: Stream] = [:]

    /// Starts stream `id` to `route` with `credit`; returns its outbox, for the writer.
    mutating func open(_ id: RequestID, route: [[UInt8]], credit: Int, batches: Bool) -> StreamOutbox<Waiter> {
        let outbox = StreamOutbox<Waiter>(credit: credit, batches: batches)
        streams[id] = Stream(route: route, outbox: outbox)
        return outbox
    }

    subscript(id: RequestID) -> Stream? { streams[id] }

    /// The caller, at `route`, granted `count` more: the stream, if the CREDIT came from its
    /// own caller (from anywhere else it changes nothing), and the writer that waited, if any.
    func grant(_ id: RequestID, _ count: Int, from route: [[UInt8]]) -> (stream: Stream, waiter: Waiter?)? {
        guard let stream = streams[id], stream.route == route else { return nil }
        return (stream, stream.outbox.grant(count))
    }

    /// Forgets stream `id` (its handler ended); returns it, to flush and stop.
    mutating func close(_ id: RequestID) -> Stream? {
        streams.removeValue(forKey: id)
    }
}
