import Logging
import MeshClock

/// A broker's routing as a pure state machine, as ``ServiceAdmission`` is for a service node:
/// the instances it knows and their readiness and load, the requests it holds (in flight or
/// queued per service), dispatch to the least-loaded instance with a random tie-break,
/// re-dispatch when an instance is lost or refuses, deadlines, and the registry's answers.
/// No socket, timer or clock of its own: events come in with the time, and what to do goes
/// out through a ``BrokerRouterOutput``. `BrokerCore` is its shell.
///
/// Split by concern: requests and answers here; dispatch and queues in
/// `BrokerRouter+Dispatch.swift`; registry answers and connections in
/// `BrokerRouter+Membership.swift`; Majordomo workers in `BrokerRouter+Workers.swift`;
/// deadlines and stopping in `BrokerRouter+Deadlines.swift`.
struct BrokerRouter {
    /// The broker's configuration: its name, limits, timeouts.
    let configuration: BrokerNode.Configuration
    /// Where instance changes are logged.
    let logger: Logger
    /// The client part of the request ids the broker gives MDP clients' requests (they carry none).
    let majordomoClientID: UInt64
    /// The instances known, from registries and Majordomo workers.
    var instances = InstanceTable()
    /// The requests held.
    var flights = FlightTable()
    /// False until the first registry answer: requests wait instead of failing.
    var resolved = false
    /// False once stopping: new requests are refused, safe to retry elsewhere.
    var accepting = true
    /// What the broker has done; the shell adds what its edges count (local answers, drops).
    var stats = BrokerStats()
    /// Breaks load-balancing ties: seeded at random in a node, fixed in tests.
    var tieBreaker: SplitMix64
    /// The last Majordomo request id given out.
    var majordomoSequence: UInt64 = 0
    /// Requests a Majordomo worker still runs whose caller cancelled them: MDP has no CANCEL,
    /// so the worker finishes, its answer is dropped, and until then it is busy. At most one
    /// per worker (a worker takes one request at a time); forgotten with the worker.
    var abandoned: [RequestID: Abandoned] = [:]

    /// A cancelled request a worker still holds.
    struct Abandoned {
        /// The worker.
        let worker: String
        /// The request's deadline: a worker silent past it (and the grace) is dropped as frozen.
        let deadline: MonotonicTime?
    }
    /// The last called name and its service: most requests call the name the one before did.
    private var lastServiceName: (name: String, service: String)?

    /// A router with no instances, no requests, and no registry answer yet.
    init(configuration: BrokerNode.Configuration, logger: Logger, seed: UInt64, majordomoClientID: UInt64) {
        self.configuration = configuration
        self.logger = logger
        self.tieBreaker = SplitMix64(seed: seed)
        self.majordomoClientID = majordomoClientID
    }

    // MARK: Queries

    /// Nothing held.
    var isIdle: Bool { flights.isEmpty }

    /// The request held under `key`, to check a reply against before it is forwarded.
    func flight(_ key: RequestID) -> Flight? { flights[key] }

    /// Whether the mesh knows `name`'s service: a service node, a worker, another broker's workers.
    func knows(service name: String) -> Bool {
        !instances.serving(ServiceHandlers.serviceName(of: name)).isEmpty
    }

    /// The counters, and what is held and known now.
    func snapshot() -> BrokerStats {
        var copy = stats
        copy.inFlight = flights.count - flights.queuedCount
        copy.queued = flights.queuedCount
        copy.instances = instances.count
        copy.readyInstances = instances.all.filter(\.ready).count
        copy.readyByService = instances.byService.mapValues { ids in ids.filter { instances[$0]?.ready == true }.count }
        return copy
    }

    // MARK: Requests in

    /// A native REQUEST from the client at `route` (not `mesh.*` or `mmi.*`: the shell answers those).
    mutating func request(_ header: Header, body: [[UInt8]], from route: [[UInt8]], now: MonotonicTime,
                          output: inout some BrokerRouterOutput) {
        let key = header.requestID
        stats.requests += 1
        if let held = flights[key] {
            // The same request again while held (one answer will do), or another client
            // claiming an id in use: refuse that one rather than mix their replies.
            if held.route != route {
                answer(route, request: header, command: .error, status: StatusCode.protocolError.rawValue,
                       body: Array("request id \(key) is in use by another client".utf8), output: &output)
                stats.errors += 1
            }
            return
        }
        guard accepting else {
            answer(route, request: header, command: .error, status: StatusCode.unavailable.rawValue,
                   body: Array("broker \(configuration.name) is shutting down; the request did not run".utf8),
                   flags: [.retryElsewhere], output: &output)
            stats.errors += 1
            return
        }
        guard header.budgetMilliseconds > 0 else {
            answer(route, request: header, command: .error, status: StatusCode.deadlineExceeded.rawValue,
                   body: Array("the deadline passed before the request reached broker \(configuration.name); it did not run".utf8),
                   output: &output)
            stats.errors += 1
            return
        }
        guard flights.count < configuration.maxInFlight else {
            return overload(route, header: header, why: "broker \(configuration.name) holds \(flights.count) requests, its limit",
                            output: &output)
        }
        guard flights.count(for: route) < configuration.maxInFlightPerClient else {
            return overload(route, header: header,
                            why: "this client already has \(configuration.maxInFlightPerClient) requests at broker \(configuration.name), its limit",
                            output: &output)
        }
        // No request is held forever: one without a budget gets the broker's longest hold, so a
        // lost answer cannot keep a client waiting or an instance's capacity taken for good.
        let budget: Duration = header.budgetMilliseconds == Header.noBudget
            ? configuration.maxRequestLifetime
            : min(.milliseconds(Int64(header.budgetMilliseconds)), configuration.maxRequestLifetime)
        flights.hold(Flight(route: route, header: header, body: body, service: serviceName(of: header.name),
                            deadline: now.advanced(by: budget)), as: key)
        dispatch(key, now: now, output: &output)
        output.armSweep()
    }

    /// An MDP client's REQUEST (not `mmi.*`), in the dialect of `caller`: becomes a flight with
    /// an id of the broker's own, idempotent (RFC 7 and RFC 18 assume workers are), expiring
    /// after the Majordomo timeout.
    mutating func majordomoRequest(_ caller: MDP.Caller, body: [[UInt8]], from route: [[UInt8]], now: MonotonicTime,
                                   output: inout some BrokerRouterOutput) {
        let service = caller.service
        stats.requests += 1
        guard accepting else {
            if !output.replyMajordomo(.final, to: route, caller: caller, status: StatusCode.unavailable.rawValue,
                                      body: [Array("broker \(configuration.name) is shutting down".utf8)]) {
                stats.dropped += 1
            }
            return
        }
        majordomoSequence += 1
        var header = Header(command: .request, requestID: RequestID(client: majordomoClientID, sequence: majordomoSequence), name: service)
        header.flags = [.idempotent]
        header.budgetMilliseconds = UInt32(clamping: configuration.majordomoRequestTimeout.millisecondsClamped)
        guard flights.count < configuration.maxInFlight, flights.count(for: route) < configuration.maxInFlightPerClient else {
            return overload(route, header: header, caller: caller, why: "broker \(configuration.name) holds too many requests",
                            output: &output)
        }
        flights.hold(Flight(route: route, header: header, body: body, service: serviceName(of: service),
                            deadline: now.advanced(by: configuration.majordomoRequestTimeout), majordomo: caller),
                     as: header.requestID)
        dispatch(header.requestID, now: now, output: &output)
        output.armSweep()
    }

    /// A CANCEL from the client at `route`: a queued request goes unanswered; one in flight is
    /// cancelled at its instance, whose place goes to a waiting request. A Majordomo worker
    /// cannot be told (MDP has no CANCEL): it stays busy until it answers, and its answer is
    /// dropped (see ``abandonedAnswer(_:from:final:now:output:)``).
    mutating func cancel(_ header: Header, from route: [[UInt8]], now: MonotonicTime, output: inout some BrokerRouterOutput) {
        let key = header.requestID
        guard let flight = flights[key], flight.route == route else { return }
        flights.forget(key)
        if let id = flight.instance, let instance = instances[id], instance.kind == .worker {
            abandoned[key] = Abandoned(worker: id, deadline: flight.deadline)
            output.armSweep()
        } else if let id = flight.instance, let instance = instances[id] {
            instances.addOutstanding(id, -1)
            var cancel = header
            cancel.command = .cancel
            send(cancel, body: [], route: flight.route, to: instance, now: now, output: &output)
            dispatchQueued(for: instance.services, now: now, output: &output)
        } else {
            flights.unqueue(key, service: flight.service)
        }
        if flights.isEmpty { output.idle() }
    }

    // MARK: Answers from instances

    /// A REPLY or ERROR for `flight` from `instance`, the one holding it. A refusal with
    /// retry-elsewhere (a draining node) sends it to another: returns false. Otherwise the
    /// request ends here and the shell forwards the answer to `flight.route`: returns true.
    /// Either way, call ``placeFreed(at:now:output:)`` next.
    mutating func instanceAnswered(_ key: RequestID, _ flight: Flight, by instance: String, refusedRetryElsewhere: Bool,
                                   now: MonotonicTime, output: inout some BrokerRouterOutput) -> Bool {
        instances.addOutstanding(instance, -1)
        guard !refusedRetryElsewhere else {
            flight.instance = nil
            flight.triedOn.append(instance)
            stats.redispatched += 1
            dispatch(key, now: now, output: &output)
            return false
        }
        flights.forget(key)
        stats.replies += 1
        return true
    }

    /// After an instance answered: its place goes to a waiting request, and a drain may end.
    mutating func placeFreed(at id: String, now: MonotonicTime, output: inout some BrokerRouterOutput) {
        if flights.queuedCount > 0, let instance = instances[id] {   // none waits, the usual case
            dispatchQueued(for: instance.services, now: now, output: &output)
        }
        if flights.isEmpty { output.idle() }
    }

    /// A part of an answer: a worker's PARTIAL, or a partial REPLY from the broker a worker is
    /// on. An MDP client that takes PARTIALs gets parts as they come; another broker that asked
    /// for parts gets them as partial REPLYs (`relaysToBrokers`, from workers only); anyone
    /// else (an MDP/0.1 client too: one REPLY per request) gets one reply at the end, so they
    /// are kept.
    /// `batch`: the body is a batch of a stream's messages (``StreamBatch``), passed on as one.
    mutating func partialAnswer(_ body: [[UInt8]], of key: RequestID, _ flight: Flight, relaysToBrokers: Bool, batch: Bool = false,
                                output: inout some BrokerRouterOutput) {
        if flight.majordomo != nil { streamPartForMajordomo(flight, output: &output) }
        if let caller = flight.majordomo, caller.dialect.takesPartials, flight.route.count == 1 {
            if !output.replyMajordomo(.partial, to: flight.route, caller: caller, status: nil, body: body) { stats.dropped += 1 }
        } else if Self.isStream(flight.header) {
            streamMessage(body, of: flight, batch: batch && flight.header.flags.contains(.batch), output: &output)
        } else if relaysToBrokers, flight.header.flags.contains(.acceptsPartials) {
            var header = Header(command: .reply, requestID: flight.header.requestID)
            header.attempt = flight.header.attempt
            header.flags = [.partial]
            _ = output.reply(to: flight.route, header: header, body: body.isEmpty ? [[]] : body)
        } else {
            keepPartials(body, of: key, flight, output: &output)
        }
    }

    /// A worker's FINAL for `flight`: the last part goes to the client (with the parts kept,
    /// for a caller that takes one reply), and the worker takes the next waiting request.
    mutating func workerFinal(_ key: RequestID, _ flight: Flight, worker: String, body: [[UInt8]], now: MonotonicTime,
                              output: inout some BrokerRouterOutput) {
        instances.addOutstanding(worker, -1)
        flights.forget(key)
        stats.replies += 1
        if let caller = flight.majordomo, flight.route.count == 1 {
            // Parts were kept only for a caller that does not take them (MDP/0.1): one REPLY.
            let whole = flight.partials.isEmpty ? body : flight.partials + body
            if !output.replyMajordomo(.final, to: flight.route, caller: caller, status: nil, body: whole) { stats.dropped += 1 }
        } else {
            let whole = flight.partials + body
            var header = Header(command: .reply, requestID: key)
            header.attempt = flight.header.attempt
            _ = output.reply(to: flight.route, header: header, body: whole.isEmpty ? [[]] : whole)
        }
        if let instance = instances[worker] { dispatchQueued(for: instance.services, now: now, output: &output) }
        if flights.isEmpty { output.idle() }
    }

    /// Keeps PARTIAL bodies for a caller that takes one reply. A worker may send any number of
    /// them: past `maxMessageBytes` in all (the most one reply could carry) the request ends
    /// with `tooLarge` rather than grow the broker without bound.
    mutating func keepPartials(_ body: [[UInt8]], of key: RequestID, _ flight: Flight, output: inout some BrokerRouterOutput) {
        flight.partialBytes += body.reduce(0) { $0 + $1.count }
        guard flight.partialBytes <= configuration.maxMessageBytes else {
            stats.partialsTooLarge += 1
            finishWithError(key, status: .tooLarge, mayHaveRun: true, output: &output,
                            message: "the partial replies passed \(configuration.maxMessageBytes) bytes, the most one reply may carry, at broker \(configuration.name)")
            return
        }
        flight.partials += body
    }

    // MARK: The broker's own answers

    /// Answers `request` from `route` with the broker's own REPLY or ERROR; a Majordomo client
    /// (`caller`) gets it as a FINAL in its dialect. Counts it dropped if it could not be routed.
    mutating func answer(_ route: [[UInt8]], request: Header, caller: MDP.Caller? = nil, command: Command, status: UInt16,
                         body: [UInt8], flags: Header.Flags = [], output: inout some BrokerRouterOutput) {
        let delivered: Bool
        if let caller {
            delivered = output.replyMajordomo(.final, to: route, caller: caller, status: command == .reply ? nil : status,
                                              body: [body])
        } else {
            var header = Header(command: command, requestID: request.requestID)
            header.attempt = request.attempt
            header.status = status
            header.flags = flags
            delivered = output.reply(to: route, header: header, body: [body])
        }
        if !delivered { stats.dropped += 1 }
    }

    /// Ends a held request with an ERROR from the broker.
    mutating func finishWithError(_ key: RequestID, status: StatusCode, mayHaveRun: Bool,
                                  output: inout some BrokerRouterOutput, message: String) {
        guard let flight = flights.forget(key) else { return }
        if let id = flight.instance { instances.addOutstanding(id, -1) }
        answer(flight.route, request: flight.header, caller: flight.majordomo, command: .error, status: status.rawValue,
               body: Array(message.utf8),
               flags: mayHaveRun ? [.mayHaveRun] : [], output: &output)
        stats.errors += 1
        if flights.isEmpty { output.idle() }
    }

    /// Hands a queued request back unrun: the client may send it elsewhere.
    mutating func refuse(_ key: RequestID, reason: String, output: inout some BrokerRouterOutput) {
        guard let flight = flights.forget(key) else { return }
        answer(flight.route, request: flight.header, caller: flight.majordomo, command: .error,
               status: StatusCode.unavailable.rawValue, body: Array("\(reason); the request did not run".utf8),
               flags: [.retryElsewhere], output: &output)
        stats.errors += 1
    }

    /// Refuses a request with `overloaded`; it did not run.
    mutating func overload(_ route: [[UInt8]], header: Header, caller: MDP.Caller? = nil, why: String,
                           output: inout some BrokerRouterOutput) {
        stats.overloaded += 1
        answer(route, request: header, caller: caller, command: .error, status: StatusCode.overloaded.rawValue,
               body: Array("\(why); it did not run".utf8), output: &output)
    }

    /// Sends a request to an instance; a worker's last-sent time moves on.
    @discardableResult
    mutating func send(_ header: Header, body: [[UInt8]], route: [[UInt8]], to instance: Instance, now: MonotonicTime,
                       output: inout some BrokerRouterOutput) -> Bool {
        guard output.send(header, body: body, route: route, to: instance) else { return false }
        if instance.kind == .worker { instances.sent(to: instance.id, at: now) }
        return true
    }

    /// `kv` for `kv.get`, remembering the last answer (most requests repeat the name before).
    private mutating func serviceName(of name: String) -> String {
        if let last = lastServiceName, last.name == name { return last.service }
        let service = ServiceHandlers.serviceName(of: name)
        lastServiceName = (name, service)
        return service
    }
}
