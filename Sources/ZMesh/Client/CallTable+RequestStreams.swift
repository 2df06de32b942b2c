/// A client's request streams (client and bidirectional streams) in its call table: the
/// caller's messages go out as PARTs, each only with the service's credit (a CREDIT from the
/// instance holding the call); a write without credit waits here. Once a message has been
/// sent the call is never re-sent elsewhere (docs/PROTOCOL.md, "Streams").
extension CallTable {
    /// The caller of call `seq` writes `payload`: sent now if the service granted room for
    /// it (then `continuation` resumes), kept until it does, or refused if the call is over.
    mutating func writePart(_ seq: UInt64, _ payload: [UInt8], continuation: RequestWriteWaiter, output: inout some CallOutput<Link>) {
        guard let call = pending[seq], call.request.sendsRequests else {
            return continuation.resume(throwing: MeshError(.cancelled, service: "", message: "the stream is over: its call has ended"))
        }
        guard call.waitingWrite == nil else {
            return continuation.resume(throwing: MeshError(.badRequest, service: call.name,
                                                           message: "a stream's writes must not overlap: await each before the next"))
        }
        guard call.sendCredit > 0, sendPart(seq, call, payload, last: false, output: &output) else {
            call.waitingWrite = (payload, continuation)
            return
        }
        continuation.resume()
    }

    /// The caller of call `seq` has sent its last message. The end goes once the instance of
    /// the current try has granted credit (it has started the stream's handler: an end that
    /// came before would find no stream there), after any write still waiting.
    mutating func endRequests(_ seq: UInt64, output: inout some CallOutput<Link>) {
        guard let call = pending[seq], call.request.sendsRequests else { return }
        call.requestsEnded = true
        sendEndIfDue(seq, call, output: &output)
    }

    /// A CREDIT from the instance holding call `seq`: the caller may send `count` more.
    mutating func requestCredit(_ header: Header, from id: ConnectionID, output: inout some CallOutput<Link>) {
        guard header.requestID.client == clientID, let call = pending[header.requestID.sequence], call.request.sendsRequests,
              call.connection == id else { return }
        let seq = header.requestID.sequence
        call.granted = true
        call.sendCredit = min(call.sendCredit + Int(header.status), StreamCredit.most)
        if let waiting = call.waitingWrite, call.sendCredit > 0, sendPart(seq, call, waiting.payload, last: false, output: &output) {
            call.waitingWrite = nil
            waiting.continuation.resume()
        }
        sendEndIfDue(seq, call, output: &output)
    }

    /// Sends the end of call `seq`'s requests if the caller has ended them, the current try's
    /// instance has started the stream, no write waits, and the end has not gone there yet.
    private mutating func sendEndIfDue(_ seq: UInt64, _ call: PendingCall, output: inout some CallOutput<Link>) {
        guard call.requestsEnded, call.granted, !call.endSent, call.waitingWrite == nil else { return }
        if sendPart(seq, call, [], last: true, output: &output) { call.endSent = true }
    }

    /// Sends one PART of call `seq` on its connection (`last`: the end of its requests).
    private mutating func sendPart(_ seq: UInt64, _ call: PendingCall, _ payload: [UInt8], last: Bool,
                                   output: inout some CallOutput<Link>) -> Bool {
        guard let id = call.connection, let connection = connections[id], connection.state == .up else { return false }
        var header = Header(command: .part, requestID: RequestID(client: clientID, sequence: seq))
        header.attempt = UInt8(clamping: max(0, call.attempts - 1))
        if !last { header.flags = [.partial] }
        guard output.send(header, payload: payload, via: connection.link) else { return false }
        if !last {
            call.sendCredit -= 1
            call.sentParts += 1
            stats.streamMessagesSent += 1
        }
        return true
    }

    /// What a waiting write throws when its call ends first: the call's error, or, if the
    /// service answered before reading everything, that the stream is over.
    func requestStreamOver(_ call: PendingCall, _ result: Result<MeshReply, MeshError>) -> MeshError {
        if case .failure(let error) = result { return error }
        return MeshError(.cancelled, service: call.name, message: "the service answered before reading the whole stream")
    }
}
