import MeshClock

/// Streams through a broker (docs/PROTOCOL.md, "Streams"): a client's stream request goes to
/// an instance as any request does; each partial REPLY (or a Majordomo worker's PARTIAL) is
/// passed on to the client as it comes, and each CREDIT from the client to the instance
/// holding the stream. The broker keeps nothing of a stream's messages, so the client's credit
/// bounds what is in flight end to end. Once a message has gone to the client the stream is
/// never re-sent: a lost instance ends it `unavailable`.
extension BrokerRouter {
    /// A client's stream REQUEST: accepts-partials with its initial credit in the status (a
    /// broker relaying a Majordomo client's parts sends 0).
    static func isStream(_ header: Header) -> Bool {
        header.flags.contains(.acceptsPartials) && header.status != 0
    }

    /// A CREDIT from the client of stream `header.requestID`: passed on to the instance that
    /// holds it (a Majordomo worker has no credit: its parts come as it sends them).
    mutating func credit(_ header: Header, from route: [[UInt8]], now: MonotonicTime, output: inout some BrokerRouterOutput) {
        guard let flight = flights[header.requestID], flight.route == route, Self.isStream(flight.header),
              let id = flight.instance, let instance = instances[id], instance.kind != .worker else { return }
        var credit = Header(command: .credit, requestID: header.requestID)
        credit.status = header.status
        _ = send(credit, body: [], route: flight.route, to: instance, now: now, output: &output)
    }

    /// A PART of a client's request stream: passed on to the instance that holds it, which
    /// granted the client room for it. Dropped (and counted) for a request not held, held
    /// for another client, or queued (no instance has granted anything yet).
    mutating func part(_ header: Header, body: [[UInt8]], from route: [[UInt8]], now: MonotonicTime,
                       output: inout some BrokerRouterOutput) {
        guard let flight = flights[header.requestID], flight.route == route, flight.header.flags.contains(.partial),
              let id = flight.instance, let instance = instances[id], instance.kind != .worker else {
            stats.dropped += 1
            return
        }
        var part = Header(command: .part, requestID: header.requestID)
        part.attempt = flight.header.attempt
        part.flags = header.flags.intersection(.partial)
        _ = send(part, body: body.isEmpty ? [[]] : body, route: flight.route, to: instance, now: now, output: &output)
    }

    /// A CREDIT for a client's request stream from the instance holding it: passed on to the
    /// client. From then on the client may send messages, so the request is never re-sent.
    mutating func requestCredit(_ header: Header, of flight: Flight, output: inout some BrokerRouterOutput) {
        guard flight.header.flags.contains(.partial) else {
            stats.dropped += 1
            return
        }
        flight.delivered += 1
        var credit = Header(command: .credit, requestID: flight.header.requestID)
        credit.status = header.status
        if !output.reply(to: flight.route, header: credit, body: [[]]) { stats.dropped += 1 }
    }

    /// One message of stream `flight` (or with `batch`, one batch of them), to its client.
    mutating func streamMessage(_ body: [[UInt8]], of flight: Flight, batch: Bool = false, output: inout some BrokerRouterOutput) {
        var header = Header(command: .reply, requestID: flight.header.requestID)
        header.attempt = flight.header.attempt
        header.flags = batch ? [.partial, .batch] : [.partial]
        flight.delivered += 1
        if !output.reply(to: flight.route, header: header, body: body.isEmpty ? [[]] : body) { stats.dropped += 1 }
    }

    /// A part of a mesh service's stream for a Majordomo client, which has no credit of its
    /// own: the broker grants one more for each part it takes (it passes parts on at once, or
    /// keeps them for an MDP/0.1 client, at most `maxMessageBytes` in all).
    mutating func streamPartForMajordomo(_ flight: Flight, output: inout some BrokerRouterOutput) {
        guard let id = flight.instance, let instance = instances[id], instance.kind == .service else { return }
        var credit = Header(command: .credit, requestID: flight.header.requestID)
        credit.status = 1
        _ = output.send(credit, body: [], route: flight.route, to: instance)
    }
}
