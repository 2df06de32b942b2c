import Logging
import MeshClock

/// What a ``CallTable`` asks its shell to do with connections and timers. `ClientCore` does
/// it with DEALER sockets and loop timers; tests record it. Generic, so the calls are
/// specialized, not dynamic.
protocol CallOutput<Link> {
    /// The shell's handle on one connection (a socket actor in a client).
    associatedtype Link

    /// Sends `header` and `payload` (a REQUEST, or a CANCEL with no payload) on a connection;
    /// false if it could not be queued.
    mutating func send(_ header: Header, payload: [UInt8], via link: Link) -> Bool
    /// Opens a connection to `endpoint`, whose events and replies come back under `id`; nil
    /// if it cannot be opened (the reason is logged).
    mutating func connect(_ id: ConnectionID, to endpoint: String) -> Link?
    /// Closes a connection.
    mutating func close(_ link: Link)
    /// Connects again at once, without waiting for the reconnect back-off; false if it cannot.
    mutating func reconnect(_ link: Link, to endpoint: String) -> Bool
    /// Drops what waits to be sent on a lost connection.
    mutating func discardOutbound(_ link: Link)
    /// Asks the resolver for the live instances of `service`; the shell hands the answer (or
    /// the failure) to ``CallTable/lookupFinished(_:_:output:)``, later, never from inside this call.
    mutating func lookUp(_ service: String)
    /// Asks for a ``CallTable/sweep(now:output:)`` at `time`, replacing any sooner-armed one.
    mutating func armSweep(at time: MonotonicTime)
    /// The time now (the loop's clock in a client; a manual one in tests).
    var now: MonotonicTime { get }
}

/// A client's calls as a pure state machine: every call in flight by sequence number, which
/// connection each goes out on (the live one with the fewest outstanding, ties at random),
/// failover with the same request id, deadlines, calls parked until a name resolves or a
/// connection comes up, and (in CallTable+Discovery.swift) what registries said of each
/// service. No socket or clock of its own: events come in with the time, and what to do
/// goes out through a ``CallOutput``.
struct CallTable<Link> {
    let clientID: UInt64
    let configuration: MeshClient.Configuration
    let logger: Logger

    var connections = IDTable<ConnectionID, Connection<Link>>()
    /// Fixed endpoints, brokers or registries, in configuration order (the candidates for
    /// every call in those modes).
    var staticList: [Connection<Link>] = []
    /// Service instance connections by endpoint (registry discovery).
    var instanceConnections: [String: ConnectionID] = [:]
    var nextConnectionID: UInt32 = 1
    var pending = IDTable<UInt64, PendingCall>(minimumCapacity: 1024)
    private var parked: Set<UInt64> = []
    private var earlyCancels: [UInt64: MonotonicTime] = [:]
    private var sweepAt = MonotonicTime.distantFuture
    var started = false
    var closed = false
    /// Bounded: past 256 service names, calls are counted as `_other`.
    private var outcomes = OutcomeCounters(label: "rpc.client.requests")
    var stats = ClientStats()
    private var lastServiceName: (name: String, service: String)?
    private var tieBreaker: SplitMix64

    // Registry discovery (CallTable+Discovery.swift).
    /// Bounded by `maxKnownServices`: callers choose the names (see `admitResolution`).
    var resolutions: [String: Resolution] = [:]
    var resolutionsAdmitted: UInt64 = 0
    /// Instances skipped because `maxInstanceConnections` was reached (logged once).
    var connectionLimitLogged = false

    /// - Parameter seed: the tie-break generator's seed (tests fix it).
    init(clientID: UInt64, configuration: MeshClient.Configuration, logger: Logger,
         seed: UInt64 = UInt64.random(in: 0...UInt64.max)) {
        self.clientID = clientID
        self.configuration = configuration
        self.logger = logger
        self.tieBreaker = SplitMix64(seed: seed)
    }

    /// Calls in flight.
    var inFlight: Int { pending.count }

    // MARK: Calls

    /// A new call, numbered `seq` by the caller's client.
    mutating func start(_ seq: UInt64, _ request: consuming CallRequest, output: inout some CallOutput<Link>) {
        start(seq, PendingCall(request), output: &output)
    }

    /// A new call, numbered `seq` by the caller's client, already wrapped for the table (as
    /// the client does on its loop thread, saving a copy of the request).
    mutating func start(_ seq: UInt64, _ call: PendingCall, output: inout some CallOutput<Link>) {
        stats.calls += 1
        if call.service.isEmpty { call.service = serviceName(of: call.name) }
        if !earlyCancels.isEmpty, earlyCancels.removeValue(forKey: seq) != nil {
            finish(call, .failure(MeshError(.cancelled, service: call.name, message: "the calling task was cancelled")), output: &output)
            return
        }
        guard !closed else {
            finish(call, .failure(MeshError(.closed, service: call.name, message: "the client was shut down")), output: &output)
            return
        }
        startIfNeeded(output: &output)
        pending[seq] = call
        armSweep(for: call.deadline, output: &output)
        dispatch(seq, output: &output)
    }

    /// The caller's task was cancelled.
    mutating func cancel(_ seq: UInt64, now: MonotonicTime, output: inout some CallOutput<Link>) {
        guard let call = pending[seq] else {
            // The cancel overtook the start (or the call already ended): remember it briefly.
            earlyCancels[seq] = now
            return
        }
        sendCancel(for: call, seq: seq, output: &output)
        fail(seq, MeshError(.cancelled, service: call.name, message: "the calling task was cancelled",
                            mayHaveRun: call.attempts > 0), output: &output)
    }

    /// Sends the call (again) on the best live connection, parks it until one is up or the
    /// name is resolved, or fails it.
    mutating func dispatch(_ seq: UInt64, output: inout some CallOutput<Link>) {
        guard let call = pending[seq] else { return }
        let now = output.now
        guard call.deadline > now else { return fail(seq, timeoutError(call), output: &output) }
        guard call.attempts < call.maxAttempts else {
            return fail(seq, MeshError(.unavailable, service: call.name,
                                       message: "gave up after \(call.attempts) attempts" + (call.lastError.map { "; the last: \($0)" } ?? ""),
                                       mayHaveRun: call.lastError == nil || call.attempts > 1), output: &output)
        }
        guard let candidates = candidates(for: call.service, output: &output) else { return park(seq, call) }
        guard !candidates.isEmpty else {
            let refused = resolutions[call.service]?.refused == true
            return fail(seq, MeshError(refused ? .forbidden : .unavailable, service: call.name,
                                       message: noInstanceMessage(call.service), mayHaveRun: call.attempts > 0), output: &output)
        }
        guard let connection = choose(from: candidates, avoiding: call.failedOn) else {
            if candidates.contains(where: { $0.state == .connecting }) { return park(seq, call) }
            if let refusal = candidates.lazy.compactMap(\.refusal).first {
                return fail(seq, MeshError(.forbidden, service: call.name, message: refusal, mayHaveRun: call.attempts > 0), output: &output)
            }
            if configuration.discovery.looksUp, call.service != Self.registryService, !call.refreshedBeforeFailing {
                // Every instance we know is unreachable; a registry may know a newer one (a
                // restart at the same endpoint, announced a moment ago): ask once, then decide.
                call.refreshedBeforeFailing = true
                lookUp(call.service, output: &output)
                return park(seq, call)
            }
            return fail(seq, MeshError(.unavailable, service: call.name,
                                       message: "no live instance of \(call.service): \(candidates.map(\.endpoint).joined(separator: ", ")) unreachable",
                                       mayHaveRun: call.attempts > 0), output: &output)
        }
        if call.parked {
            call.parked = false
            parked.remove(seq)
        }
        var header = Header(command: .request, requestID: RequestID(client: clientID, sequence: seq))
        header.attempt = UInt8(clamping: call.attempts)
        if call.idempotent { header.flags.insert(.idempotent) }
        header.budgetMilliseconds = UInt32(clamping: (now.nanoseconds(until: call.deadline) + 999_999) / 1_000_000)
        header.name = call.name
        header.metadata = call.request.metadata
        if call.request.streamWindow > 0 {
            header.flags.formUnion([.acceptsPartials, .batch])
            header.status = UInt16(clamping: call.request.streamWindow)
        }
        if call.request.sendsRequests {
            header.flags.insert(.partial)
            call.sendCredit = 0   // credit is the instance's: the new one grants its own
            call.granted = false  // and the end of the requests, if any, goes to it after that
            call.endSent = false
        }
        guard output.send(header, payload: call.payload, via: connection.link) else {
            call.failedOn.append(connection.id)
            return dispatch(seq, output: &output)
        }
        if call.attempts > 0 {
            logger.debug("re-sent call", metadata: [
                "zmesh.request_id": "\(header.requestID)", "zmesh.endpoint": "\(connection.endpoint)", "zmesh.attempt": "\(call.attempts)",
            ])
        }
        call.attempts += 1
        call.connection = connection.id
        connection.outstanding += 1
        call.request.sentTo?(connection.endpoint)
    }

    /// `kv` for `kv.get`, remembering the last answer (most calls repeat the name before).
    private mutating func serviceName(of name: String) -> String {
        if let last = lastServiceName, last.name == name { return last.service }
        let service = ServiceHandlers.serviceName(of: name)
        lastServiceName = (name, service)
        return service
    }

    private mutating func park(_ seq: UInt64, _ call: PendingCall) {
        call.parked = true
        parked.insert(seq)
    }

    /// The live connection with the fewest calls outstanding, preferring ones this call has not failed on.
    private mutating func choose(from candidates: [Connection<Link>], avoiding failed: [ConnectionID]) -> Connection<Link>? {
        let random = candidates.count > 1 ? tieBreaker.next() : 0
        return leastLoaded(candidates, random: random) { connection in
            connection.state == .up ? (failed.contains(connection.id), connection.outstanding) : nil
        }
    }

    mutating func dispatchParked(output: inout some CallOutput<Link>) {
        guard !parked.isEmpty else { return }
        let waiting = parked.sorted()
        parked.removeAll()
        for seq in waiting { dispatch(seq, output: &output) }
    }

    // MARK: Replies

    /// A REPLY or ERROR on connection `id`; `message` is an ERROR's text.
    mutating func receive(_ header: Header, payload: consuming [UInt8], message: String, from id: ConnectionID,
                          output: inout some CallOutput<Link>) {
        guard header.requestID.client == clientID, let call = pending[header.requestID.sequence] else {
            stats.lateReplies += 1
            return
        }
        let seq = header.requestID.sequence
        if !header.metadata.isEmpty, let problem = header.metadata.problem(under: configuration.metadataLimits) {
            return fail(seq, MeshError(.protocolError, service: call.name, message: "the reply broke this client's limits: \(problem)",
                                       mayHaveRun: true), output: &output)
        }
        if case .stream(let messages) = call.completion, header.command == .reply {
            return streamReply(seq, call, messages, header: header, payload: payload, output: &output)
        }
        if header.command == .reply {
            var reply = MeshReply(payload: payload, metadata: header.metadata)
            reply.endpoint = connections[id]?.endpoint
            return complete(seq, .success(reply), output: &output)
        }
        if header.flags.contains(.retryElsewhere), let connection = call.connection {
            // The peer refused without running it (draining): safe to try elsewhere.
            connections[connection].map { $0.outstanding = max(0, $0.outstanding - 1) }
            call.connection = nil
            call.failedOn.append(connection)
            call.lastError = message
            stats.retries += 1
            return dispatch(seq, output: &output)
        }
        var error = MeshError(status: header.status, service: call.name, message: message, mayHaveRun: header.flags.contains(.mayHaveRun))
        error.metadata = header.metadata
        complete(seq, .failure(error), output: &output)
    }

    // MARK: Ending calls

    mutating func complete(_ seq: UInt64, _ result: consuming Result<MeshReply, MeshError>, output: inout some CallOutput<Link>) {
        guard let call = pending.removeValue(forKey: seq) else { return }
        if let id = call.connection, let connection = connections[id] {
            connection.outstanding = max(0, connection.outstanding - 1)
        }
        if call.parked { parked.remove(seq) }
        if let waiting = call.waitingWrite {
            call.waitingWrite = nil
            waiting.continuation.resume(throwing: requestStreamOver(call, result))
        }
        finish(call, result, output: &output)
    }

    mutating func fail(_ seq: UInt64, _ error: MeshError, output: inout some CallOutput<Link>) {
        complete(seq, .failure(error), output: &output)
    }

    private mutating func finish(_ call: PendingCall, _ result: consuming Result<MeshReply, MeshError>, output: inout some CallOutput<Link>) {
        switch call.completion {
        case .caller(let continuation):
            switch result {
            case .success:
                stats.succeeded += 1
                outcomes.recordSuccess(service: call.service)
            case .failure(let error):
                stats.failed[error.code.rawValue, default: 0] += 1
                outcomes.record(service: call.service, outcome: error.code.rawValue)
            }
            continuation.resume(returning: result)
        case .client(let handler):
            handler(result)
        case .stream(let messages):
            switch result {
            case .success:
                stats.succeeded += 1
                outcomes.recordSuccess(service: call.service)
                messages.finish()
            case .failure(let error):
                stats.failed[error.code.rawValue, default: 0] += 1
                outcomes.record(service: call.service, outcome: error.code.rawValue)
                messages.finish(throwing: error)
            }
        }
    }

    private func timeoutError(_ call: PendingCall) -> MeshError {
        MeshError(.timeout, service: call.name,
                  message: "no reply within \(call.timeout) (\(call.attempts) attempt\(call.attempts == 1 ? "" : "s"))",
                  mayHaveRun: call.attempts > 0)
    }

    func sendCancel(for call: PendingCall, seq: UInt64, output: inout some CallOutput<Link>) {
        guard let id = call.connection, let connection = connections[id], connection.state == .up else { return }
        _ = output.send(Header(command: .cancel, requestID: RequestID(client: clientID, sequence: seq)), payload: [], via: connection.link)
    }

    // MARK: Deadlines

    /// One sweep at the earliest deadline; re-armed only when a call has an earlier one.
    mutating func armSweep(for deadline: MonotonicTime, output: inout some CallOutput<Link>) {
        guard deadline < sweepAt else { return }
        sweepAt = deadline
        output.armSweep(at: deadline)
    }

    /// Ends every call whose deadline has come with `timeout` (and a CANCEL to its peer).
    mutating func sweep(now: MonotonicTime, output: inout some CallOutput<Link>) {
        sweepAt = .distantFuture
        var expired: [UInt64] = []
        var earliest = MonotonicTime.distantFuture
        for (seq, call) in pending.entries {
            if call.deadline <= now { expired.append(seq) } else if call.deadline < earliest { earliest = call.deadline }
        }
        for seq in expired.sorted() {
            guard let call = pending[seq] else { continue }
            sendCancel(for: call, seq: seq, output: &output)
            fail(seq, timeoutError(call), output: &output)
        }
        if !earlyCancels.isEmpty {
            let stale = now.advanced(by: .seconds(-10))
            earlyCancels = earlyCancels.filter { $0.value > stale }
            earliest = min(earliest, now.advanced(by: .seconds(10)))
        }
        if earliest != .distantFuture { armSweep(for: earliest, output: &output) }
    }

    // MARK: Shutdown

    /// Ends every call with `closed` and closes every connection.
    mutating func close(output: inout some CallOutput<Link>) {
        guard !closed else { return }
        closed = true
        for seq in pending.entries.map(\.key).sorted() {
            guard let call = pending[seq] else { continue }
            fail(seq, MeshError(.closed, service: call.name, message: "the client was shut down", mayHaveRun: call.attempts > 0), output: &output)
        }
        for connection in connections.allValues { output.close(connection.link) }
        connections.removeAll()
        staticList.removeAll()
        resolutions.removeAll()
        instanceConnections.removeAll()
    }
}
