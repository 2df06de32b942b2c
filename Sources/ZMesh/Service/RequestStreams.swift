/// The request streams a service node is reading (client and bidirectional streams), by
/// request id: where each comes from, the messages its caller may still send (the credit
/// this node granted and the caller has not used), and where its messages go (`Sink`: the
/// handler's sequence in a node). Loop-confined (``ServiceCore``); one entry per running
/// handler that reads a stream, so bounded by the node's handler limit; each holds at most
/// the credit it granted in messages. Pure: tested alone.
struct RequestStreams<Sink> {
    private struct Stream {
        let route: [[UInt8]]
        let sink: Sink
        /// Messages the caller may send before this node grants more.
        var allowance: Int
    }

    private var streams: [RequestID: Stream] = [:]

    /// What to do with a PART.
    enum PartAction: Equatable {
        /// Hand the message to the handler's sequence (`last`: and end it).
        case deliver(last: Bool)
        /// The end of the requests, without a message: end the handler's sequence.
        case end
        /// More than the credit granted: the caller broke flow control; end the stream with
        /// an error and count it.
        case overrun
        /// No such stream from that route (over, never started, or another peer's): drop it.
        case unknown
    }

    var count: Int { streams.count }

    /// Starts reading stream `id` from `route`, granting it `credit` messages at once.
    mutating func open(_ id: RequestID, route: [[UInt8]], sink: Sink, credit: Int) {
        streams[id] = Stream(route: route, sink: sink, allowance: max(0, credit))
    }

    /// A PART of stream `id` from `route`: `isMessage` when it carries a message (the partial
    /// flag, or a non-empty last body), `isLast` when the partial flag is clear.
    mutating func part(_ id: RequestID, from route: [[UInt8]], isMessage: Bool, isLast: Bool) -> (PartAction, Sink?) {
        guard var stream = streams[id], stream.route == route else { return (.unknown, nil) }
        if isMessage {
            guard stream.allowance > 0 else {
                streams[id] = nil
                return (.overrun, stream.sink)
            }
            stream.allowance -= 1
        }
        if isLast {
            streams[id] = nil
            return (isMessage ? .deliver(last: true) : .end, stream.sink)
        }
        streams[id] = stream
        return (.deliver(last: false), stream.sink)
    }

    /// The handler read `count` more: the caller may send that many more. Returns the route
    /// to send the CREDIT to, or nil if the stream is over.
    mutating func grant(_ id: RequestID, _ count: Int) -> [[UInt8]]? {
        guard count > 0, var stream = streams[id] else { return nil }
        stream.allowance = min(stream.allowance + count, StreamCredit.most)
        streams[id] = stream
        return stream.route
    }

    /// Forgets stream `id` (its handler ended, or it was cancelled); returns its sink to end.
    mutating func close(_ id: RequestID) -> Sink? {
        streams.removeValue(forKey: id)?.sink
    }
}
