/// A client's streams in its call table: a stream is a call whose request takes partial
/// replies. Each partial REPLY is one message for the caller; the last REPLY ends the stream
/// (its payload, if any, is the last message); an ERROR ends it with that error. Once a
/// message has been delivered the stream is never re-sent elsewhere (docs/PROTOCOL.md,
/// "Streams").
extension CallTable {
    /// A REPLY for stream `seq`: a message, or its end.
    mutating func streamReply(_ seq: UInt64, _ call: PendingCall, _ messages: StreamChunks.Continuation,
                              header: Header, payload: [UInt8], output: inout some CallOutput<Link>) {
        if header.flags.contains(.batch) && header.flags.contains(.partial) {
            guard let count = StreamBatch.count(payload) else {
                return fail(seq, MeshError(.protocolError, service: call.name, message: "a batch of the stream's messages was malformed",
                                           mayHaveRun: true), output: &output)
            }
            call.delivered += count
            stats.streamMessages += UInt64(count)
            // The whole frame, one element: the reader takes its messages apart.
            if count > 0 { messages.yield(.batch(payload)) }
            return
        }
        if !payload.isEmpty || header.flags.contains(.partial) {
            call.delivered += 1
            stats.streamMessages += 1
            messages.yield(.message(payload))
        }
        guard !header.flags.contains(.partial) else { return }
        var reply = MeshReply(payload: [], metadata: header.metadata)
        reply.endpoint = call.connection.flatMap { connections[$0]?.endpoint }
        complete(seq, .success(reply), output: &output)
    }

    /// The caller of stream `seq` read `count` more messages: its sender may send that many more.
    mutating func grant(_ seq: UInt64, _ count: Int, output: inout some CallOutput<Link>) {
        guard count > 0, let call = pending[seq], let id = call.connection, let connection = connections[id],
              connection.state == .up else { return }
        var header = Header(command: .credit, requestID: RequestID(client: clientID, sequence: seq))
        header.status = UInt16(clamping: count)
        _ = output.send(header, payload: [], via: connection.link)
    }
}
