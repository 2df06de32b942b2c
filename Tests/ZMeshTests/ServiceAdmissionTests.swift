import Logging
import Testing
@testable import ZMesh
import ZeroMQ
import ZMeshTestSupport

/// The service node's admission as a pure state machine: fed requests, outcomes, cancels and
/// sweeps at times the test chooses, with no socket, task or sleep. Each test is a hard case
/// of docs/PROTOCOL.md's service rules, decided exactly.
@Suite("Service admission, deterministic")
struct ServiceAdmissionTests {
    /// Records what the admission asks for; jobs are numbered from 1.
    struct Recorder: AdmissionOutput {
        var sent: [(route: [[UInt8]], reply: CachedReply)] = []
        var started: [ServiceLaunch] = []
        var cancelled: [Int] = []
        var sweeps = 0
        /// Routes that are gone: sends to them fail.
        var gone: Set<[[UInt8]]> = []

        mutating func send(_ reply: CachedReply, to route: [[UInt8]]) -> Bool {
            sent.append((route, reply))
            return !gone.contains(route)
        }
        mutating func start(_ launch: ServiceLaunch) -> Int {
            started.append(launch)
            return started.count
        }
        mutating func cancel(_ job: Int) { cancelled.append(job) }
        mutating func armSweep() { sweeps += 1 }

        /// Takes what was sent so far.
        mutating func takeSent() -> [(route: [[UInt8]], reply: CachedReply)] {
            defer { sent = [] }
            return sent
        }
    }

    static let alice: [[UInt8]] = [Array("alice".utf8)]
    static let bob: [[UInt8]] = [Array("bob".utf8)]

    static func handlers() -> ServiceHandlers {
        var handlers = ServiceHandlers()
        handlers.registerInline("echo") { payload, _ in payload }
        handlers.register("slow") { payload, _ in payload }   // never run here: the test finishes it
        return handlers
    }

    static func admission(concurrency: Int = 2, queue: Int = 2, perClient: Int = 10, cacheEntries: Int = 100)
        -> ServiceAdmission<Int> {
        ServiceAdmission(limits: .init(nodeName: "svc-1", maxConcurrentHandlers: concurrency, maxQueuedRequests: queue,
                                       maxInFlightPerClient: perClient),
                         handlers: handlers(), cache: ReplyCache(maxEntries: cacheEntries, maxBytes: 1 << 20),
                         logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    static func request(_ name: String, _ sequence: UInt64, budget: UInt32 = Header.noBudget, attempt: UInt8 = 0) -> Header {
        var header = Header(command: .request, requestID: RequestID(client: 7, sequence: sequence), name: name)
        header.budgetMilliseconds = budget
        header.attempt = attempt
        header.flags = [.idempotent]
        return header
    }

    static func status(_ reply: CachedReply) -> StatusCode? { StatusCode(rawValue: reply.header.status) }

    @Test func anInlineHandlerIsAnsweredAtOnceAndItsRetryFromTheCache() {
        var admission = Self.admission()
        var out = Recorder()
        let clock = ManualClock()
        admission.request(Self.request("echo", 1), payload: [1, 2], from: Self.alice, now: clock.now, output: &out)
        admission.request(Self.request("echo", 1, attempt: 1), payload: [1, 2], from: Self.bob, now: clock.now, output: &out)
        let sent = out.takeSent()
        #expect(sent.map(\.route) == [Self.alice, Self.bob])
        #expect(sent.allSatisfy { $0.reply.header.command == .reply && $0.reply.body == [1, 2] })
        #expect(admission.stats.handlerRuns == 1)
        #expect(admission.stats.cacheHits == 1)
        #expect(admission.isIdle)
    }

    @Test func aRetryWhileTheFirstTryRunsJoinsItAndNeverRunsTwice() {
        var admission = Self.admission()
        var out = Recorder()
        let clock = ManualClock()
        admission.request(Self.request("slow", 1), payload: [9], from: Self.alice, now: clock.now, output: &out)
        admission.request(Self.request("slow", 1, attempt: 1), payload: [9], from: Self.bob, now: clock.now, output: &out)
        #expect(out.started.count == 1)
        #expect(out.sent.isEmpty)
        admission.finish(RequestID(client: 7, sequence: 1), .reply(MeshReply(payload: [42])), now: clock.now, output: &out)
        #expect(out.sent.map(\.route) == [Self.alice, Self.bob])
        #expect(out.sent.allSatisfy { $0.reply.body == [42] })
        #expect(admission.stats.duplicatesJoined == 1)
        #expect(admission.stats.replies == 2)
        // A third try after it ended: from the cache, not a second run.
        admission.request(Self.request("slow", 1, attempt: 2), payload: [9], from: Self.bob, now: clock.now, output: &out)
        #expect(out.started.count == 1)
        #expect(out.sent.last?.reply.body == [42])
    }

    @Test func aDrainRefusesNewCallsWhileItsRunningCallsFinish() {
        var admission = Self.admission()
        var out = Recorder()
        let clock = ManualClock()
        admission.request(Self.request("slow", 1), payload: [], from: Self.alice, now: clock.now, output: &out)
        admission.stopAccepting()
        admission.request(Self.request("slow", 2), payload: [], from: Self.bob, now: clock.now, output: &out)
        admission.request(Self.request("echo", 3), payload: [], from: Self.bob, now: clock.now, output: &out)
        let refused = out.takeSent()
        #expect(refused.count == 2)
        #expect(refused.allSatisfy { Self.status($0.reply) == .unavailable && $0.reply.header.flags.contains(.retryElsewhere) })
        #expect(refused.allSatisfy { !$0.reply.header.flags.contains(.mayHaveRun) })
        #expect(!admission.isIdle)
        admission.finish(RequestID(client: 7, sequence: 1), .reply(MeshReply(payload: [1])), now: clock.now, output: &out)
        #expect(out.sent.map(\.route) == [Self.alice])
        #expect(out.sent.first?.reply.header.command == .reply)
        #expect(admission.isIdle)
        // A retry of the call that finished during the drain is still answered, from the cache.
        admission.request(Self.request("slow", 1, attempt: 1), payload: [], from: Self.bob, now: clock.now, output: &out)
        #expect(out.sent.last?.reply.body == [1])
    }

    @Test func aRequestWithNoBudgetLeftIsAnsweredDeadlineExceededWithoutRunning() {
        var admission = Self.admission()
        var out = Recorder()
        admission.request(Self.request("echo", 1, budget: 0), payload: [], from: Self.alice, now: ManualClock().now, output: &out)
        #expect(out.sent.count == 1)
        #expect(Self.status(out.sent[0].reply) == .deadlineExceeded)
        #expect(admission.stats.handlerRuns == 0)
        #expect(admission.stats.expired == 1)
    }

    @Test func requestsPastTheConcurrencyBoundWaitAndStartInArrivalOrder() {
        var admission = Self.admission(concurrency: 1, queue: 5)
        var out = Recorder()
        let clock = ManualClock()
        for sequence in 1...3 {
            admission.request(Self.request("slow", UInt64(sequence)), payload: [UInt8(sequence)], from: Self.alice,
                              now: clock.now, output: &out)
        }
        #expect(out.started.map(\.id.sequence) == [1])
        #expect(admission.queuedCount == 2)
        admission.finish(RequestID(client: 7, sequence: 1), .reply(MeshReply(payload: [])), now: clock.now, output: &out)
        #expect(out.started.map(\.id.sequence) == [1, 2])
        #expect(out.started.last?.request.payload == [2])
        admission.finish(RequestID(client: 7, sequence: 2), .reply(MeshReply(payload: [])), now: clock.now, output: &out)
        #expect(out.started.map(\.id.sequence) == [1, 2, 3])
        #expect(admission.queuedCount == 0)
    }

    /// A queued request expires exactly at its budget: not one nanosecond before.
    @Test func aQueuedRequestExpiresExactlyAtItsBudget() {
        var admission = Self.admission(concurrency: 1, queue: 5)
        var out = Recorder()
        var clock = ManualClock()
        admission.request(Self.request("slow", 1), payload: [], from: Self.alice, now: clock.now, output: &out)
        admission.request(Self.request("slow", 2, budget: 100), payload: [], from: Self.bob, now: clock.now, output: &out)
        clock.advance(by: .milliseconds(100) - .nanoseconds(1))
        admission.sweep(now: clock.now, output: &out)
        #expect(out.sent.isEmpty)
        clock.advance(by: .nanoseconds(1))
        admission.sweep(now: clock.now, output: &out)
        #expect(out.sent.map(\.route) == [Self.bob])
        #expect(Self.status(out.sent[0].reply) == .deadlineExceeded)
        #expect(!out.sent[0].reply.header.flags.contains(.mayHaveRun))
        // When the slot frees, nothing expired starts.
        admission.finish(RequestID(client: 7, sequence: 1), .reply(MeshReply(payload: [])), now: clock.now, output: &out)
        #expect(out.started.map(\.id.sequence) == [1])
    }

    /// A handler still running at its deadline is cancelled by the sweep, and its caller is
    /// told the deadline passed (not "cancelled").
    @Test func aHandlerRunningPastItsDeadlineIsCancelledAndAnsweredDeadlineExceeded() {
        var admission = Self.admission()
        var out = Recorder()
        var clock = ManualClock()
        admission.request(Self.request("slow", 1, budget: 50), payload: [], from: Self.alice, now: clock.now, output: &out)
        #expect(out.sweeps == 1)
        clock.advance(by: .milliseconds(50))
        admission.sweep(now: clock.now, output: &out)
        #expect(out.cancelled == [1])
        admission.finish(RequestID(client: 7, sequence: 1), .failure(status: StatusCode.cancelled.rawValue, message: "cancelled"),
                         now: clock.now, output: &out)
        #expect(Self.status(out.sent[0].reply) == .deadlineExceeded)
        #expect(out.sent[0].reply.header.flags.contains(.mayHaveRun))
        #expect(admission.stats.stoppedAtDeadline == 1)
    }

    @Test func oneClientAtItsLimitIsRefusedWhileAnotherIsServed() {
        var admission = Self.admission(concurrency: 10, perClient: 2)
        var out = Recorder()
        let clock = ManualClock()
        for sequence in 1...3 {
            admission.request(Self.request("slow", UInt64(sequence)), payload: [], from: Self.alice, now: clock.now, output: &out)
        }
        admission.request(Self.request("slow", 4), payload: [], from: Self.bob, now: clock.now, output: &out)
        #expect(out.started.map(\.id.sequence) == [1, 2, 4])
        #expect(out.sent.count == 1)
        #expect(Self.status(out.sent[0].reply) == .overloaded)
        #expect(out.sent[0].route == Self.alice)
        // When one of alice's ends, she may send another.
        admission.finish(RequestID(client: 7, sequence: 1), .reply(MeshReply(payload: [])), now: clock.now, output: &out)
        admission.request(Self.request("slow", 5), payload: [], from: Self.alice, now: clock.now, output: &out)
        #expect(out.started.map(\.id.sequence) == [1, 2, 4, 5])
    }

    @Test func aFullQueueRefusesWithOverloaded() {
        var admission = Self.admission(concurrency: 1, queue: 1)
        var out = Recorder()
        let clock = ManualClock()
        for sequence in 1...3 {
            admission.request(Self.request("slow", UInt64(sequence)), payload: [], from: Self.alice, now: clock.now, output: &out)
        }
        #expect(out.started.count == 1)
        #expect(admission.queuedCount == 1)
        #expect(out.sent.map { Self.status($0.reply) } == [.overloaded])
        #expect(admission.stats.overloaded == 1)
    }

    /// A CANCEL for a queued request takes it out unanswered; for a running one, cancels the
    /// job and drops its result; either way its client's count is released.
    @Test func cancelsReleaseQueuedAndRunningRequests() {
        var admission = Self.admission(concurrency: 1, queue: 5, perClient: 2)
        var out = Recorder()
        let clock = ManualClock()
        admission.request(Self.request("slow", 1), payload: [], from: Self.alice, now: clock.now, output: &out)
        admission.request(Self.request("slow", 2), payload: [], from: Self.alice, now: clock.now, output: &out)
        admission.cancel(RequestID(client: 7, sequence: 2), output: &out)
        #expect(admission.queuedCount == 0)
        admission.cancel(RequestID(client: 7, sequence: 1), output: &out)
        admission.cancel(RequestID(client: 7, sequence: 1), output: &out)   // twice: harmless
        #expect(out.cancelled == [1, 1])
        admission.finish(RequestID(client: 7, sequence: 1), .failure(status: StatusCode.cancelled.rawValue, message: "x"),
                         now: clock.now, output: &out)
        #expect(out.sent.isEmpty)
        #expect(admission.isIdle)
        // Alice's two places are hers again.
        admission.request(Self.request("slow", 3), payload: [], from: Self.alice, now: clock.now, output: &out)
        admission.request(Self.request("slow", 4), payload: [], from: Self.alice, now: clock.now, output: &out)
        #expect(!out.sent.contains { Self.status($0.reply) == .overloaded })
    }

    @Test func anUnknownNameIsAnsweredNotFoundAndLeavesNothingBehind() {
        var admission = Self.admission()
        var out = Recorder()
        for sequence in 1...1_000 {
            admission.request(Self.request("nothing-\(sequence)", UInt64(sequence)), payload: [], from: Self.alice,
                              now: ManualClock().now, output: &out)
        }
        #expect(out.sent.count == 1_000)
        #expect(out.sent.allSatisfy { Self.status($0.reply) == .notFound })
        #expect(admission.isIdle)
        #expect(admission.stats.handlerRuns == 0)
    }

    @Test func aReplyToAClientThatIsGoneIsCounted() {
        var admission = Self.admission()
        var out = Recorder()
        out.gone = [Self.bob]
        admission.request(Self.request("echo", 1), payload: [], from: Self.bob, now: ManualClock().now, output: &out)
        #expect(admission.stats.unroutableReplies == 1)
    }
}
