/// A stream's credit limits.
enum StreamCredit {
    /// The credit a stream starts with when its request names none.
    static let initial: UInt16 = 64
    /// Most credit a stream may hold, however much a caller grants (bounds what one caller
    /// could make a handler send at once, and keeps the sum from overflowing).
    static let most = 1 << 20
}

/// The server streams a service node is sending, by request id: where each goes, the credit
/// its caller has granted, and the write waiting for more (`Waiter`: the writer's
/// continuation in a node). Loop-confined (``ServiceCore``); one entry per running streaming
/// handler, so bounded by the node's handler limit. Pure: tested alone.
struct ServerStreams<Waiter> {

    private struct Stream {
        let route: [[UInt8]]
        var credit: Int
        var waiting: (payload: [UInt8], continuation: Waiter)?
        var stopped = false
        var sent = 0
    }

    private var streams: [RequestID: Stream] = [:]

    /// What to do with a write.
    enum WriteAction {
        /// Send it now along `route`, then resume the writer.
        case send(route: [[UInt8]])
        /// Wait for credit (kept here).
        case wait
        /// The stream is over: resume the writer with `CancellationError`.
        case stopped
    }

    mutating func open(_ id: RequestID, route: [[UInt8]], credit: Int) {
        streams[id] = Stream(route: route, credit: min(max(0, credit), StreamCredit.most))
    }

    /// A write of `payload` by stream `id`'s handler.
    mutating func write(_ id: RequestID, payload: [UInt8], continuation: Waiter) -> WriteAction {
        guard var stream = streams[id], !stream.stopped, stream.waiting == nil else { return .stopped }
        if stream.credit > 0 {
            stream.credit -= 1
            stream.sent += 1
            streams[id] = stream
            return .send(route: stream.route)
        }
        stream.waiting = (payload, continuation)
        streams[id] = stream
        return .wait
    }

    /// The caller, at `route`, granted `count` more; returns the write that may now go, if one
    /// waited. A CREDIT from anywhere but the stream's own caller changes nothing.
    mutating func grant(_ id: RequestID, _ count: Int, from route: [[UInt8]]) -> (route: [[UInt8]], payload: [UInt8], continuation: Waiter)? {
        guard var stream = streams[id], !stream.stopped, stream.route == route else { return nil }
        stream.credit = min(stream.credit + max(0, count), StreamCredit.most)
        var ready: (route: [[UInt8]], payload: [UInt8], continuation: Waiter)?
        if let waiting = stream.waiting, stream.credit > 0 {
            stream.credit -= 1
            stream.sent += 1
            stream.waiting = nil
            ready = (stream.route, waiting.payload, waiting.continuation)
        }
        streams[id] = stream
        return ready
    }

    /// The stream is over for its writer (cancelled, or the handler ended): later writes
    /// throw; returns the write that waited, to resume with `CancellationError`.
    mutating func stop(_ id: RequestID) -> Waiter? {
        guard var stream = streams[id] else { return nil }
        stream.stopped = true
        let waiter = stream.waiting?.continuation
        stream.waiting = nil
        streams[id] = stream
        return waiter
    }

    /// Forgets stream `id` (its handler ended); returns a write that waited, if any, and
    /// whether it sent any message.
    mutating func close(_ id: RequestID) -> (waiter: Waiter?, sentAny: Bool) {
        guard let stream = streams.removeValue(forKey: id) else { return (nil, false) }
        return (stream.waiting?.continuation, stream.sent > 0)
    }
}
