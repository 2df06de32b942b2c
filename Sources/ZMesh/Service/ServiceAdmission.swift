import DequeModule
import Logging
import MeshClock

/// What a ``ServiceAdmission`` asks its shell to do: send replies, start and cancel handler
/// jobs, wake it for a sweep. `ServiceCore` does these with its socket and tasks; tests record
/// them. Generic, so the shell's calls are specialized, not dynamic.
protocol AdmissionOutput<Job> {
    /// The shell's handle on a running handler (a `Task` in a node).
    associatedtype Job

    /// Sends a REPLY or ERROR along `route`; false if it could not be routed (client gone).
    mutating func send(_ reply: CachedReply, to route: [[UInt8]]) -> Bool
    /// Starts a concurrent handler; its outcome comes back through ``ServiceAdmission/finish(_:_:now:output:)``.
    mutating func start(_ launch: ServiceLaunch) -> Job
    /// Stops a running handler (its outcome, when it comes, is still reported).
    mutating func cancel(_ job: Job)
    /// Asks for a ``ServiceAdmission/sweep(now:output:)`` after the sweep interval.
    mutating func armSweep()
}

/// A handler to start: the request, its payload, and what the handler knows of it.
struct ServiceLaunch: Sendable {
    let id: RequestID
    /// Runs on the node's own loop (an inline handler behind interceptors), not the pool.
    let onLoop: Bool
    let request: MeshRequest
    let handler: ServiceHandlers.FullHandler
    var context: RequestContext
    let deadline: MonotonicTime?
    /// A stream (the caller takes partial replies): where its messages go, and how many it
    /// may be sent before the caller grants more. Nil for a call.
    var stream: (route: [[UInt8]], credit: Int, batches: Bool)?
    /// A client or bidirectional stream: the caller its request messages come from. Nil when
    /// the request is one message.
    var requestStream: [[UInt8]]?
}

/// A service node's admission as a pure state machine, as ``RegistryTable`` is for a
/// registry: which requests run, wait, join a run in progress, are answered from the reply
/// cache, or are refused (drain, budget, per-client and queue limits), and what a handler's
/// outcome becomes. No socket, task or clock of its own: events come in with the time, and
/// what to do goes out through an ``AdmissionOutput``.
struct ServiceAdmission<Job> {
    /// The limits it admits under, and the node name its messages give.
    struct Limits {
        var nodeName: String
        var maxConcurrentHandlers: Int
        var maxQueuedRequests: Int
        var maxInFlightPerClient: Int
        /// What a request's metadata may hold; more is refused as `bad request`.
        var metadata: MetadataLimits = .default
    }

    private struct InProgress {
        /// The client it counts against (`perClient`): the route it was admitted from.
        let client: [[UInt8]]
        /// Where its reply goes: the client, and any retry that joined it; empty once cancelled.
        var routes: [[[UInt8]]]
        let header: Header
        /// Kept while it waits; dropped when it starts.
        var payload: [UInt8]
        let deadline: MonotonicTime?
        let method: String
        let handler: ServiceHandlers.FullHandler
        let onLoop: Bool
        var job: Job?
    }

    let limits: Limits
    let handlers: ServiceHandlers
    let logger: Logger
    private var inProgress = IDTable<RequestID, InProgress>()
    /// Requests in progress (running or queued) per client route: one client cannot take every slot.
    private var perClient: [[[UInt8]]: Int] = [:]
    /// The last name looked up and its handler: most requests call the name the one before did.
    private var lastHandler: (name: String, found: (method: String, handler: ServiceHandlers.Handler))?
    private var waiting = Deque<RequestID>()
    private(set) var runningCount = 0
    private var cache: ReplyCache
    /// Counted per handler, never per called name: callers choose names (issue 10).
    private var outcomes: OutcomeCounters
    private(set) var stats = ServiceStats()

    /// A reply the socket took but could not deliver later (held by send coalescing, its
    /// client gone by the end of the turn).
    mutating func replyUndelivered() { stats.unroutableReplies += 1 }
    /// False once draining: new requests are refused, safe to retry elsewhere.
    private(set) var accepting = true

    init(limits: Limits, handlers: ServiceHandlers, cache: ReplyCache, logger: Logger) {
        self.limits = limits
        self.handlers = handlers
        self.cache = cache
        self.logger = logger
        self.outcomes = OutcomeCounters(label: "rpc.server.requests", maxNames: max(256, handlers.names.count)) {
            [handlers] name in handlers.registeredName(for: name)
        }
    }

    /// Requests in progress (running or queued), for load reports.
    var load: Int { inProgress.count }
    /// Nothing running or queued.
    var isIdle: Bool { inProgress.isEmpty }
    /// Requests waiting for a handler slot.
    var queuedCount: Int { waiting.count }
    /// Whether any request in progress has a deadline (a sweep is then needed).
    var hasDeadlines: Bool { inProgress.entries.contains { $0.value.deadline != nil } }

    /// Stops taking requests: new ones are refused with `unavailable` and retry-elsewhere.
    mutating func stopAccepting() { accepting = false }

    // MARK: Events

    /// A REQUEST from `route`.
    mutating func request(_ header: Header, payload: [UInt8], from route: [[UInt8]], now: MonotonicTime,
                          output: inout some AdmissionOutput<Job>) {
        let id = header.requestID
        stats.requests += 1
        if let cached = cache[id] {
            stats.cacheHits += 1
            send(cached, to: route, output: &output)
            return
        }
        if !inProgress.isEmpty, inProgress[id] != nil {
            if header.flags.contains(.acceptsPartials) || header.flags.contains(.partial) {
                // A stream's messages went to the route it came from: a retry that joined it
                // would get its end without them.
                return refuse(header, route: route, status: .unavailable, flags: [.mayHaveRun], output: &output,
                              message: "this stream is already running at \(limits.nodeName) for a connection that was lost; it cannot be joined")
            }
            stats.duplicatesJoined += 1
            inProgress[id]?.routes.append(route)
            return
        }
        guard accepting else {
            return refuse(header, route: route, status: .unavailable, flags: [.retryElsewhere], output: &output,
                          message: "instance \(limits.nodeName) is shutting down; the request did not run")
        }
        guard header.budgetMilliseconds > 0 else {
            stats.expired += 1
            return refuse(header, route: route, status: .deadlineExceeded, output: &output,
                          message: "the deadline passed before the request reached \(limits.nodeName); it did not run")
        }
        guard let (method, registered) = handler(named: header.name) else {
            return refuse(header, route: route, status: .notFound, output: &output,
                          message: "no handler named \(header.name) at \(limits.nodeName) (it has \(handlers.names.joined(separator: ", ")))")
        }
        if !header.metadata.isEmpty, let problem = header.metadata.problem(under: limits.metadata) {
            return refuse(header, route: route, status: .badRequest, output: &output,
                          message: "\(problem) at \(limits.nodeName); the request did not run")
        }
        let kind = handlers.kind(ofRegistered: method)
        if header.flags.contains(.partial) != kind.readsRequestStream {
            return refuse(header, route: route, status: .badRequest, output: &output,
                          message: "\(header.name) is a \(kind) method: " + (kind.readsRequestStream
                              ? "call it with a stream of requests" : "call it with one request") + "; the request did not run")
        }
        let deadline: MonotonicTime? = header.budgetMilliseconds == Header.noBudget
            ? nil : now.advanced(by: .milliseconds(Int64(header.budgetMilliseconds)))
        let handler: ServiceHandlers.FullHandler
        var onLoop = false
        switch registered {
        case .inline(let inline):
            // Runs now, on this thread: nothing to queue, nothing to track.
            stats.handlerRuns += 1
            let outcome = HandlerOutcome.runInline(inline, payload: payload, context: context(header, method: method, deadline: deadline))
            let reply = makeReply(for: header, outcome: outcome, routes: 1)
            cache.store(id, reply)
            send(reply, to: route, output: &output)
            return
        case .concurrent(let concurrent):
            handler = concurrent
        case .loopTask(let full):
            handler = full
            onLoop = true
        }
        if perClient[route, default: 0] >= limits.maxInFlightPerClient {
            stats.overloaded += 1
            return refuse(header, route: route, status: .overloaded, output: &output,
                          message: "this client already has \(limits.maxInFlightPerClient) requests in progress at \(limits.nodeName), its limit; it did not run")
        }
        let entry = InProgress(client: route, routes: [route], header: header, payload: [], deadline: deadline,
                               method: method, handler: handler, onLoop: onLoop, job: nil)
        if runningCount < limits.maxConcurrentHandlers {
            admit(id, entry)
            launch(id, header: header, payload: payload, deadline: deadline, method: method, handler: handler, onLoop: onLoop,
                   output: &output)
        } else if waiting.count < limits.maxQueuedRequests {
            var queued = entry
            queued.payload = payload
            admit(id, queued)
            waiting.append(id)
            output.armSweep()
        } else {
            stats.overloaded += 1
            refuse(header, route: route, status: .overloaded, output: &output,
                   message: "\(limits.nodeName) has \(runningCount) handlers running and \(waiting.count) requests queued; it did not run")
        }
    }

    /// A CANCEL: a queued request goes unanswered; a running one is stopped and its result dropped.
    mutating func cancel(_ id: RequestID, output: inout some AdmissionOutput<Job>) {
        guard let entry = inProgress[id] else { return }
        stats.cancelled += 1
        if let job = entry.job {
            output.cancel(job)
            inProgress[id]?.routes = []
        } else {
            release(id)
            waiting.removeAll { $0 == id }
        }
    }

    /// A concurrent handler ended with `outcome`: its reply goes to every route still waiting
    /// for it, and the next queued requests start.
    ///
    /// `streamed`: the handler sent parts of a stream before this end; such an end is not
    /// the whole answer, so it is not kept for retries.
    mutating func finish(_ id: RequestID, _ outcome: HandlerOutcome, now: MonotonicTime, streamed: Bool = false,
                         output: inout some AdmissionOutput<Job>) {
        runningCount -= 1
        if let entry = release(id) {
            var outcome = outcome
            // Cancelled because its deadline passed: that is what the caller is told.
            if case .failure(StatusCode.cancelled.rawValue, _, _) = outcome, let deadline = entry.deadline, deadline <= now {
                if !entry.routes.isEmpty { stats.stoppedAtDeadline += 1 }
                outcome = .failure(status: StatusCode.deadlineExceeded.rawValue,
                                   message: "the deadline passed while the handler ran at \(limits.nodeName)")
            }
            let reply = makeReply(for: entry.header, outcome: outcome, routes: entry.routes.count)
            // A stream's last message is not its whole answer: never answer a retry with it.
            if !streamed { cache.store(id, reply) }
            for route in entry.routes { send(reply, to: route, output: &output) }
        }
        startWaiting(now: now, output: &output)
    }

    /// Expires queued requests and cancels running ones whose deadline has come; asks for
    /// another sweep while any request has a deadline.
    mutating func sweep(now: MonotonicTime, output: inout some AdmissionOutput<Job>) {
        var expiredWaiting: [RequestID] = []
        for (id, entry) in inProgress.entries {
            guard let deadline = entry.deadline, deadline <= now else { continue }
            if let job = entry.job { output.cancel(job) } else { expiredWaiting.append(id) }
        }
        if !expiredWaiting.isEmpty {
            let expired = Set(expiredWaiting)
            waiting.removeAll { expired.contains($0) }
            for id in expiredWaiting { expire(id, output: &output) }
        }
        if hasDeadlines { output.armSweep() }
    }

    /// Cancels every handler still running and forgets every request (the node is closing).
    mutating func cancelAll(output: inout some AdmissionOutput<Job>) {
        accepting = false
        for (_, entry) in inProgress.entries { if let job = entry.job { output.cancel(job) } }
        inProgress.removeAll()
        perClient.removeAll()
        waiting.removeAll()
    }

    // MARK: Inside

    private mutating func admit(_ id: RequestID, _ entry: InProgress) {
        inProgress[id] = entry
        perClient[entry.client, default: 0] += 1
    }

    /// Takes a request out of progress, and out of its client's count.
    @discardableResult
    private mutating func release(_ id: RequestID) -> InProgress? {
        guard let entry = inProgress.removeValue(forKey: id) else { return nil }
        let count = (perClient[entry.client] ?? 1) - 1
        perClient[entry.client] = count > 0 ? count : nil
        return entry
    }

    private mutating func handler(named name: String) -> (method: String, handler: ServiceHandlers.Handler)? {
        if let last = lastHandler, last.name == name { return last.found }
        guard let found = handlers.handler(for: name) else { return nil }
        lastHandler = (name, found)
        return found
    }

    private func context(_ header: Header, method: String, deadline: MonotonicTime?) -> RequestContext {
        RequestContext(name: header.name, method: method, requestID: header.requestID, attempt: Int(header.attempt),
                       deadline: deadline, metadata: header.metadata, logger: logger)
    }

    private mutating func launch(_ id: RequestID, header: Header, payload: [UInt8], deadline: MonotonicTime?, method: String,
                                 handler: @escaping ServiceHandlers.FullHandler, onLoop: Bool, output: inout some AdmissionOutput<Job>) {
        runningCount += 1
        stats.handlerRuns += 1
        var launch = ServiceLaunch(id: id, onLoop: onLoop, request: MeshRequest(payload: payload, metadata: header.metadata), handler: handler,
                                   context: context(header, method: method, deadline: deadline), deadline: deadline)
        if header.flags.contains(.acceptsPartials), let route = inProgress[id]?.client {
            launch.stream = (route, Int(header.status == 0 ? StreamCredit.initial : header.status), header.flags.contains(.batch))
        }
        if header.flags.contains(.partial), let route = inProgress[id]?.client { launch.requestStream = route }
        inProgress[id]?.job = output.start(launch)
        if deadline != nil { output.armSweep() }
    }

    private mutating func startWaiting(now: MonotonicTime, output: inout some AdmissionOutput<Job>) {
        while runningCount < limits.maxConcurrentHandlers, let id = waiting.popFirst() {
            guard let entry = inProgress[id] else { continue }
            if let deadline = entry.deadline, deadline <= now {
                expire(id, output: &output)
                continue
            }
            inProgress[id]?.payload = []
            launch(id, header: entry.header, payload: entry.payload, deadline: entry.deadline, method: entry.method,
                   handler: entry.handler, onLoop: entry.onLoop, output: &output)
        }
    }

    private mutating func expire(_ id: RequestID, output: inout some AdmissionOutput<Job>) {
        guard let entry = release(id) else { return }
        stats.expired += UInt64(entry.routes.count)
        for route in entry.routes {
            refuse(entry.header, route: route, status: .deadlineExceeded, output: &output,
                   message: "the deadline passed while the request waited at \(limits.nodeName); it did not run")
        }
    }

    /// The REPLY or ERROR (header and body) for a handler's outcome; counts it.
    private mutating func makeReply(for request: Header, outcome: HandlerOutcome, routes: Int) -> CachedReply {
        var header = Header(command: .reply, requestID: request.requestID)
        header.attempt = request.attempt
        switch outcome {
        case .reply(let reply):
            stats.replies += UInt64(routes)
            outcomes.recordSuccess(service: request.name)
            header.metadata = reply.metadata
            return CachedReply(header: header, body: reply.payload)
        case .failure(let status, let message, let metadata):
            outcomes.record(service: request.name, outcome: outcome.outcomeLabel)
            header.metadata = metadata
            header.command = .error
            header.status = status
            header.flags.insert(.mayHaveRun)
            stats.errors += UInt64(routes)
            return CachedReply(header: header, body: Array(message.utf8))
        }
    }

    /// An ERROR for a request that did not run; counted.
    private mutating func refuse(_ request: Header, route: [[UInt8]], status: StatusCode, flags: Header.Flags = [],
                                 output: inout some AdmissionOutput<Job>, message: String) {
        var header = Header(command: .error, requestID: request.requestID)
        header.attempt = request.attempt
        header.status = status.rawValue
        header.flags = flags
        stats.errors += 1
        outcomes.record(service: request.name, outcome: "\(status)")
        send(CachedReply(header: header, body: Array(message.utf8)), to: route, output: &output)
    }

    private mutating func send(_ reply: CachedReply, to route: [[UInt8]], output: inout some AdmissionOutput<Job>) {
        if !output.send(reply, to: route) { stats.unroutableReplies += 1 }
    }
}
