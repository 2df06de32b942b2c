import DequeModule
import MeshClock

/// Dispatch: the least-loaded ready instance with room, queues when every one is busy, and
/// re-dispatch of what a lost instance held.
extension BrokerRouter {
    /// Sends a held request to the best ready instance, queues it, or answers it with an error.
    mutating func dispatch(_ key: RequestID, now: MonotonicTime, output: inout some BrokerRouterOutput) {
        guard let flight = flights[key] else { return }
        if let deadline = flight.deadline, deadline <= now {
            finishWithError(key, status: .deadlineExceeded, mayHaveRun: flight.sent > 0, output: &output,
                            message: "the deadline passed while broker \(configuration.name) held the request")
            return
        }
        guard resolved else {
            enqueue(key, flight, output: &output)
            return
        }
        let candidates = instances.serving(flight.service)
        if candidates.isEmpty, flight.majordomo != nil {
            // RFC 18: queue MDP requests for a service nobody serves yet; they expire at their deadline.
            enqueue(key, flight, output: &output)
            return
        }
        guard !candidates.isEmpty else {
            finishWithError(key, status: .unavailable, mayHaveRun: flight.sent > 0, output: &output,
                            message: "no live instance of \(flight.service)")
            return
        }
        // A request from another broker never goes on to a third.
        var allowed = flight.route.count > 1 ? candidates.filter { instances[$0]?.kind != .broker } : candidates
        // A stream of requests needs credit, which Majordomo workers never grant.
        if flight.header.flags.contains(.partial) { allowed.removeAll { instances[$0]?.kind == .worker } }
        guard !allowed.isEmpty else {
            finishWithError(key, status: .unavailable, mayHaveRun: flight.sent > 0, output: &output,
                            message: "no live instance of \(flight.service)"
                                + (flight.header.flags.contains(.partial) ? " takes a stream of requests (Majordomo workers do not)" : ""))
            return
        }
        guard let chosen = choose(allowed, avoiding: flight.triedOn), let instance = instances[chosen] else {
            enqueue(key, flight, output: &output)
            return
        }
        var header = flight.header
        header.attempt = flight.header.attempt &+ UInt8(clamping: flight.sent)
        // An MDP client that takes PARTIALs: ask a broker in between to pass them on as they come.
        if flight.majordomo?.dialect.takesPartials == true && instance.kind == .broker { header.flags.insert(.acceptsPartials) }
        // An MDP client's request to a mesh service: taken as a stream, so a server-streaming
        // handler answers it with parts (the broker reads them for the client: see
        // ``streamPartForMajordomo(_:output:)``).
        if flight.majordomo != nil && instance.kind == .service {
            header.flags.insert(.acceptsPartials)
            header.status = StreamCredit.initial
        }
        if let deadline = flight.deadline {
            header.budgetMilliseconds = UInt32(clamping: (now.nanoseconds(until: deadline) + 999_999) / 1_000_000)
        }
        guard send(header, body: flight.body, route: flight.route, to: instance, now: now, output: &output) else {
            // Not connected after all: treat as not ready and try again.
            instances.setReady(chosen, false)
            dispatch(key, now: now, output: &output)
            return
        }
        flight.instance = chosen
        flight.sent += 1
        instances.addOutstanding(chosen, 1)
    }

    /// The ready instance with room and the fewest outstanding, preferring ones not tried yet;
    /// ties go to a random one (the scan starts at a random place).
    mutating func choose(_ candidates: [String], avoiding tried: [String]) -> String? {
        let random = candidates.count > 1 ? tieBreaker.next() : 0
        return leastLoaded(candidates, random: random) { id in
            guard let instance = instances[id], instance.hasRoom else { return nil }
            return (tried.contains(id), instance.outstanding)
        }
    }

    /// Puts a request in its service's queue, or refuses it `overloaded` if the queue is full.
    mutating func enqueue(_ key: RequestID, _ flight: Flight, output: inout some BrokerRouterOutput) {
        let waiting = flights.queueLength(flight.service)
        guard waiting < configuration.maxQueuePerService else {
            flights.forget(key)
            overload(flight.route, header: flight.header, caller: flight.majordomo,
                     why: "every instance of \(flight.service) is at capacity and \(waiting) requests wait at broker \(configuration.name)",
                     output: &output)
            return
        }
        flights.enqueue(key, service: flight.service)
    }

    /// Dispatches waiting requests of `services`, oldest first, while an instance has room.
    mutating func dispatchQueued(for services: [String], now: MonotonicTime, output: inout some BrokerRouterOutput) {
        guard flights.queuedCount > 0 else { return }   // the usual case, on every reply
        for service in services {
            // Each waiting request is tried at most once per call: one that goes back to the
            // queue (no instance it may use has room) cannot keep this loop spinning.
            var tries = flights.queueLength(service)
            while tries > 0, let key = flights.firstQueued(service) {
                tries -= 1
                guard instances.serving(service).contains(where: { instances.hasRoom($0) }) else {
                    if resolved && instances.serving(service).isEmpty { failWaiting(for: service, now: now, output: &output) }
                    break
                }
                flights.dequeueFirst(service)
                dispatch(key, now: now, output: &output)
            }
        }
    }

    /// No instance of `service` is left at all: fails what waits for it rather than hold it to
    /// its deadline. Majordomo requests stay queued (RFC 18 queues them for a service nobody
    /// serves yet; they expire at their deadline).
    private mutating func failWaiting(for service: String, now: MonotonicTime, output: inout some BrokerRouterOutput) {
        for key in flights.takeNative(waitingFor: service) { dispatch(key, now: now, output: &output) }
    }

    /// Re-dispatches the requests in flight at an instance that is gone: idempotent ones to
    /// another instance (same request id, next attempt), others answered `unavailable` (they
    /// may have run).
    mutating func failOver(from id: String, now: MonotonicTime, output: inout some BrokerRouterOutput) {
        instances.resetOutstanding(id)
        for key in flights.held(at: id) {
            guard let flight = flights[key] else { continue }
            flight.instance = nil
            flight.triedOn.append(id)
            if flight.delivered > 0 {
                finishWithError(key, status: .unavailable, mayHaveRun: true, output: &output,
                                message: "instance \(id) was lost after \(flight.delivered) messages of the stream; a stream that has delivered messages is not re-sent")
            } else if flight.header.isIdempotent {
                stats.redispatched += 1
                dispatch(key, now: now, output: &output)
            } else {
                finishWithError(key, status: .unavailable, mayHaveRun: true, output: &output,
                                message: "instance \(id) was lost while it held the request; it is not idempotent so it was not re-sent")
            }
        }
    }
}
