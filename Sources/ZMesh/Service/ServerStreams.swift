import Synchronization

/// A stream's credit limits.
enum StreamCredit {
    /// The credit a stream starts with when its request names none.
    static let initial: UInt16 = 64
    /// Most credit a stream may hold, however much a caller grants (bounds what one caller
    /// could make a handler send at once, and keeps the sum from overflowing).
    static let most = 1 << 20
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
