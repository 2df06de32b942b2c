import MeshClock

/// Deadlines, and stopping: the sweep that ends what waited or was held too long, the drain
/// that hands queued requests back, and the close that ends everything.
extension BrokerRouter {
    /// Ends queued requests past their deadline, and in-flight ones `lateReplyGrace` past it
    /// (this bounds memory, and answers the client, if a reply never comes); a Majordomo
    /// worker that froze that way is dropped. Asks for another sweep while anything is held
    /// (the last request ended says ``BrokerRouterOutput/idle()`` itself).
    mutating func sweep(now: MonotonicTime, output: inout some BrokerRouterOutput) {
        let grace = configuration.lateReplyGrace
        var frozenWorkers: [String] = []
        for (key, flight) in flights.entries {
            guard let deadline = flight.deadline, deadline <= now else { continue }
            if flight.instance == nil {
                flights.unqueue(key, service: flight.service)
                finishWithError(key, status: .deadlineExceeded, mayHaveRun: flight.sent > 0, output: &output,
                                message: "the deadline passed while the request waited at broker \(configuration.name)")
            } else if deadline.advanced(by: grace) <= now {
                // The instance holding it never answered, even late. Tell the client (an MDP
                // client has no deadline of its own to fall back on): every call ends.
                let holder = flight.instance.flatMap { instances[$0] }
                finishWithError(key, status: .deadlineExceeded, mayHaveRun: true, output: &output,
                                message: "no answer from the instance holding it by its deadline, at broker \(configuration.name)")
                if let holder, holder.kind == .worker { frozenWorkers.append(holder.id) }
            }
        }
        // The same for a worker still running a request its caller cancelled.
        for (key, entry) in abandoned {
            guard let deadline = entry.deadline, deadline.advanced(by: grace) <= now else { continue }
            abandoned[key] = nil
            frozenWorkers.append(entry.worker)
        }
        // A Majordomo worker takes one request at a time: one stuck past its deadline would
        // hold its service's place forever. DISCONNECT lets it start again (RFC 18).
        for id in frozenWorkers { dropFrozenWorker(id, now: now, output: &output) }
        if !flights.isEmpty || !abandoned.isEmpty { output.armSweep() }
    }

    /// Stops taking requests (new ones are refused so clients use another broker). Queued
    /// requests have not run: they are handed back now so clients re-send them elsewhere.
    mutating func stopAccepting(output: inout some BrokerRouterOutput) {
        accepting = false
        for key in flights.takeAllQueued() { refuse(key, reason: "broker \(configuration.name) is shutting down", output: &output) }
        if flights.isEmpty { output.idle() }
    }

    /// The broker is closing: every request still held ends with `unavailable`, oldest first.
    mutating func closeAll(output: inout some BrokerRouterOutput) {
        accepting = false
        for key in flights.entries.map(\.key).sorted(by: { $0.sequence < $1.sequence }) {
            guard let flight = flights[key] else { continue }
            finishWithError(key, status: .unavailable, mayHaveRun: flight.instance != nil, output: &output,
                            message: "broker \(configuration.name) stopped")
        }
    }
}
