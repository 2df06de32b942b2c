import Testing
@testable import ZMesh
import ZeroMQ
import ZMeshTestSupport

/// The broker's routing as a pure state machine: fed requests, answers, registry answers,
/// connection events and sweeps at times the test chooses, with no socket and no sleep. Each
/// test is a hard case of the broker's rules (docs/ARCHITECTURE.md), asserted exactly.
@Suite("Broker router, deterministic")
struct BrokerRouterTests {
    /// An instance lost with calls in flight: the idempotent one is re-sent once, to another
    /// instance, with the same request id and the next attempt; the other is answered
    /// `unavailable` with may-have-run.
    @Test func anInstanceLostWithCallsInFlightResendsIdempotentOnesOnceAndFailsTheOthers() throws {
        let clock = ManualClock()
        var (router, out) = Self.mesh(["e1", "e2"])
        router.disconnected(endpoint: Self.endpoint("e2"), now: clock.now, output: &out)   // both calls go to e1
        let safe = Self.request(1), unsafe = Self.request(2, idempotent: false)
        router.request(safe, body: Self.body, from: Self.alice, now: clock.now, output: &out)
        router.request(unsafe, body: Self.body, from: Self.bob, now: clock.now, output: &out)
        #expect(out.take() == [.send(instance: "e1", route: Self.alice, header: Self.forwarded(safe), body: Self.body),
                               .send(instance: "e1", route: Self.bob, header: Self.forwarded(unsafe), body: Self.body)])
        router.connected(endpoint: Self.endpoint("e2"), now: clock.now, output: &out)
        router.disconnected(endpoint: Self.endpoint("e1"), now: clock.now, output: &out)
        #expect(out.take() == [
            .send(instance: "e2", route: Self.alice, header: Self.forwarded(safe, attempt: 1), body: Self.body),
            Self.error(unsafe, to: Self.bob, .unavailable, flags: [.mayHaveRun],
                       "instance e1 was lost while it held the request; it is not idempotent so it was not re-sent"),
        ])
        #expect(router.stats.redispatched == 1)
        #expect(router.flight(safe.requestID)?.instance == "e2")   // a late answer from e1 is not taken
        // e1 back: nothing is sent again; e2's answer ends the call.
        router.connected(endpoint: Self.endpoint("e1"), now: clock.now, output: &out)
        #expect(out.take().isEmpty)
        let flight = try #require(router.flight(safe.requestID))
        #expect(router.instanceAnswered(safe.requestID, flight, by: "e2", refusedRetryElsewhere: false, now: clock.now, output: &out))
        router.placeFreed(at: "e2", now: clock.now, output: &out)
        #expect(router.isIdle)
        #expect(out.idles == 1)
    }

    /// A draining instance refuses with retry-elsewhere: the call goes to another at once.
    @Test func aRetryElsewhereRefusalFromADrainingInstanceIsSentToAnother() throws {
        let clock = ManualClock()
        var (router, out) = Self.mesh(["e1", "e2"])
        router.disconnected(endpoint: Self.endpoint("e2"), now: clock.now, output: &out)
        let call = Self.request(1, idempotent: false)   // a refusal means it did not run: safe to re-send
        router.request(call, body: Self.body, from: Self.alice, now: clock.now, output: &out)
        router.connected(endpoint: Self.endpoint("e2"), now: clock.now, output: &out)
        #expect(out.take() == [.send(instance: "e1", route: Self.alice, header: Self.forwarded(call), body: Self.body)])
        let flight = try #require(router.flight(call.requestID))
        #expect(!router.instanceAnswered(call.requestID, flight, by: "e1", refusedRetryElsewhere: true, now: clock.now, output: &out))
        router.placeFreed(at: "e1", now: clock.now, output: &out)
        #expect(out.take() == [.send(instance: "e2", route: Self.alice, header: Self.forwarded(call, attempt: 1), body: Self.body)])
        #expect(router.stats.redispatched == 1)
        #expect(router.flight(call.requestID)?.triedOn == ["e1"])
        #expect(out.idles == 0)
    }

    /// Calls waiting for a full instance go as places free, in arrival order, each with the
    /// budget it has left.
    @Test func queuedRequestsGoInArrivalOrderWhenCapacityFreesWithTheBudgetLeft() throws {
        var clock = ManualClock()
        var (router, out) = Self.mesh(["e1"], capacity: 1)
        let calls = (1...3).map { Self.request(UInt64($0), budget: 1_000) }
        for call in calls { router.request(call, body: Self.body, from: Self.alice, now: clock.now, output: &out) }
        #expect(out.take() == [.send(instance: "e1", route: Self.alice, header: Self.forwarded(calls[0], budget: 1_000), body: Self.body)])
        #expect(router.snapshot().queued == 2)
        for (index, held) in [10, 25].enumerated() {
            clock.advance(by: .milliseconds(held))
            let answered = calls[index].requestID
            let flight = try #require(router.flight(answered))
            #expect(router.instanceAnswered(answered, flight, by: "e1", refusedRetryElsewhere: false, now: clock.now, output: &out))
            router.placeFreed(at: "e1", now: clock.now, output: &out)
        }
        // Each went on with what was left of its budget when it left the queue.
        #expect(out.take() == [
            .send(instance: "e1", route: Self.alice, header: Self.forwarded(calls[1], budget: 990), body: Self.body),
            .send(instance: "e1", route: Self.alice, header: Self.forwarded(calls[2], budget: 965), body: Self.body),
        ])
        #expect(router.snapshot().queued == 0)
    }

    /// A queued request expires exactly at its budget: not one nanosecond before.
    @Test func aQueuedRequestExpiresExactlyAtItsBudget() throws {
        var clock = ManualClock()
        var (router, out) = Self.mesh(["e1"], capacity: 1)
        let first = Self.request(1), waiting = Self.request(2, budget: 100)
        router.request(first, body: Self.body, from: Self.alice, now: clock.now, output: &out)
        router.request(waiting, body: Self.body, from: Self.bob, now: clock.now, output: &out)
        _ = out.take()
        clock.advance(by: .milliseconds(100) - .nanoseconds(1))
        router.sweep(now: clock.now, output: &out)
        #expect(out.take().isEmpty)
        #expect(router.snapshot().queued == 1)
        clock.advance(by: .nanoseconds(1))
        router.sweep(now: clock.now, output: &out)
        #expect(out.take() == [Self.error(waiting, to: Self.bob, .deadlineExceeded,
                                          "the deadline passed while the request waited at broker b-1")])
        #expect(router.snapshot().queued == 0)
        // When e1's place frees, the expired request is not sent.
        let flight = try #require(router.flight(first.requestID))
        #expect(router.instanceAnswered(first.requestID, flight, by: "e1", refusedRetryElsewhere: false, now: clock.now, output: &out))
        router.placeFreed(at: "e1", now: clock.now, output: &out)
        #expect(out.take().isEmpty)
        #expect(router.isIdle)
    }

    /// An instance that never answers: the broker waits `lateReplyGrace` past the deadline for
    /// a late reply, then answers the client itself, and the instance's place is free again.
    @Test func anInstanceThatNeverAnswersIsAnsweredForByTheBrokerAfterTheGrace() {
        var clock = ManualClock()
        var (router, out) = Self.mesh(["e1"], capacity: 1) { $0.lateReplyGrace = .seconds(5) }
        let call = Self.request(1, budget: 100)
        router.request(call, body: Self.body, from: Self.alice, now: clock.now, output: &out)
        _ = out.take()
        clock.advance(by: .milliseconds(100))
        router.sweep(now: clock.now, output: &out)
        clock.advance(by: .seconds(5) - .nanoseconds(1))
        router.sweep(now: clock.now, output: &out)
        #expect(out.take().isEmpty)
        #expect(out.sweeps == 3)   // the request's, and one after each sweep while it is held
        clock.advance(by: .nanoseconds(1))
        router.sweep(now: clock.now, output: &out)
        #expect(out.take() == [Self.error(call, to: Self.alice, .deadlineExceeded, flags: [.mayHaveRun],
                                          "no answer from the instance holding it by its deadline, at broker b-1")])
        #expect(router.flight(call.requestID) == nil)   // a reply coming now is dropped
        #expect(out.idles == 1)
        #expect(out.sweeps == 3)   // nothing held: no more sweeps
        let next = Self.request(2)
        router.request(next, body: Self.body, from: Self.bob, now: clock.now, output: &out)
        #expect(out.take() == [.send(instance: "e1", route: Self.bob, header: Self.forwarded(next), body: Self.body)])
    }

    /// Each call goes to the ready instance holding the fewest.
    @Test func theLeastLoadedReadyInstanceIsChosen() {
        let clock = ManualClock()
        var (router, out) = Self.mesh(["e1", "e2", "e3"])
        for id in ["e2", "e3"] { router.disconnected(endpoint: Self.endpoint(id), now: clock.now, output: &out) }
        for sequence in 1...3 { router.request(Self.request(UInt64(sequence)), body: Self.body, from: Self.alice, now: clock.now, output: &out) }
        router.connected(endpoint: Self.endpoint("e2"), now: clock.now, output: &out)
        for sequence in 4...5 { router.request(Self.request(UInt64(sequence)), body: Self.body, from: Self.alice, now: clock.now, output: &out) }
        router.connected(endpoint: Self.endpoint("e3"), now: clock.now, output: &out)
        router.request(Self.request(6), body: Self.body, from: Self.alice, now: clock.now, output: &out)
        // e1 holds 3, e2 2, e3 1: each new call goes to the one with the fewest.
        let chosen = out.take().compactMap { event -> String? in
            if case .send(let instance, _, _, _) = event { return instance } else { return nil }
        }
        #expect(chosen == ["e1", "e1", "e1", "e2", "e2", "e3"])
        router.request(Self.request(7), body: Self.body, from: Self.alice, now: clock.now, output: &out)
        router.request(Self.request(8), body: Self.body, from: Self.alice, now: clock.now, output: &out)
        // e3 takes the next (1 < 2); then e2 and e3 tie at 2: either, never e1 with 3.
        guard case .send("e3", _, _, _) = out.events.first, case .send(let tie, _, _, _) = out.events.last else {
            Issue.record("unexpected \(out.events)")
            return
        }
        #expect(tie == "e2" || tie == "e3")
    }

    /// Ties are broken at random, but by the seed given: the same seed, the same choices, and
    /// over many calls every tied instance is chosen.
    @Test func tiesAreBrokenByTheSeededGenerator() {
        func choices(seed: UInt64) -> [String] {
            let clock = ManualClock()
            var (router, out) = Self.mesh(["e1", "e2", "e3"], seed: seed)
            var picked: [String] = []
            for sequence in 1...30 {
                let call = Self.request(UInt64(sequence))
                router.request(call, body: Self.body, from: Self.alice, now: clock.now, output: &out)
                guard case .send(let instance, _, _, _) = out.take().first, let flight = router.flight(call.requestID) else { break }
                _ = router.instanceAnswered(call.requestID, flight, by: instance, refusedRetryElsewhere: false, now: clock.now, output: &out)
                router.placeFreed(at: instance, now: clock.now, output: &out)
                picked.append(instance)
            }
            return picked
        }
        let first = choices(seed: 42)
        #expect(first.count == 30)
        #expect(first == choices(seed: 42))
        #expect(Set(first) == ["e1", "e2", "e3"])
        #expect(first != choices(seed: 43))
    }

    /// A registry that just started may not have heard every instance: its answer adds and
    /// never removes. A complete answer removes what it does not list, re-sending what those held.
    @Test func anIncompleteRegistryAnswerOnlyAddsACompleteOneAlsoRemoves() {
        let clock = ManualClock()
        var (router, out) = Self.mesh(["e1", "e2"])
        let call = Self.request(1)
        router.disconnected(endpoint: Self.endpoint("e2"), now: clock.now, output: &out)
        router.request(call, body: Self.body, from: Self.alice, now: clock.now, output: &out)
        _ = out.take()
        // A registry that just started knows only e3: e3 is added, nothing is removed.
        router.apply([Self.info("e3")], complete: false, now: clock.now, output: &out)
        #expect(out.take() == [.connect("e3", endpoint: Self.endpoint("e3"))])
        #expect(router.snapshot().instances == 3)
        router.connected(endpoint: Self.endpoint("e3"), now: clock.now, output: &out)
        // A complete answer listing only e3: e1 and e2 go, and the call e1 held goes to e3.
        router.apply([Self.info("e3")], complete: true, now: clock.now, output: &out)
        #expect(out.take() == [
            .disconnect(Self.endpoint("e1")),
            .send(instance: "e3", route: Self.alice, header: Self.forwarded(call, attempt: 1), body: Self.body),
            .disconnect(Self.endpoint("e2")),
        ])
        #expect(router.snapshot().instances == 1)
        #expect(router.snapshot().readyByService == ["echo": 1])
    }

    /// One client at its limit, and a full service queue, are answered `overloaded` at once.
    @Test func perClientAndPerQueueLimitsAnswerOverloaded() {
        let clock = ManualClock()
        var (router, out) = Self.mesh(["e1"], capacity: 1) {
            $0.maxInFlightPerClient = 2
            $0.maxQueuePerService = 1
        }
        let calls = (1...3).map { Self.request(UInt64($0)) }
        for call in calls { router.request(call, body: Self.body, from: Self.alice, now: clock.now, output: &out) }
        let fromBob = Self.request(4)
        router.request(fromBob, body: Self.body, from: Self.bob, now: clock.now, output: &out)
        #expect(out.take() == [
            .send(instance: "e1", route: Self.alice, header: Self.forwarded(calls[0]), body: Self.body),
            Self.error(calls[2], to: Self.alice, .overloaded,
                       "this client already has 2 requests at broker b-1, its limit; it did not run"),
            Self.error(fromBob, to: Self.bob, .overloaded,
                       "every instance of echo is at capacity and 1 requests wait at broker b-1; it did not run"),
        ])
        #expect(router.stats.overloaded == 2)
        #expect(router.snapshot().queued == 1)
        #expect(router.snapshot().inFlight == 1)
    }

    /// RFC 18: a Majordomo request for a service nobody serves waits (a native one fails at
    /// once), and expires at the Majordomo timeout with a FINAL carrying the failure.
    @Test func aMajordomoRequestForAServiceNobodyServesWaitsUntilItExpires() {
        var clock = ManualClock()
        var (router, out) = Self.mesh(["e1"]) { $0.majordomoRequestTimeout = .seconds(10) }
        let route = [Array("mdp-client".utf8)]
        router.majordomoRequest(ZMesh.MDP.Caller(service: "nothing", dialect: .rfc18), body: [Array("x".utf8)], from: route, now: clock.now, output: &out)
        let native = Self.request(9, "nothing")
        router.request(native, body: Self.body, from: Self.alice, now: clock.now, output: &out)
        #expect(out.take() == [Self.error(native, to: Self.alice, .unavailable, "no live instance of nothing")])
        #expect(router.snapshot().queued == 1)
        // Instances of other services coming and going do not fail it.
        router.apply([Self.info("e1"), Self.info("e2", services: ["kv"])], complete: true, now: clock.now, output: &out)
        _ = out.take()
        clock.advance(by: .seconds(10) - .nanoseconds(1))
        router.sweep(now: clock.now, output: &out)
        #expect(out.take().isEmpty)
        clock.advance(by: .nanoseconds(1))
        router.sweep(now: clock.now, output: &out)
        #expect(out.take() == [.majordomo(.final, route: route, service: "nothing", status: StatusCode.deadlineExceeded.rawValue,
                                          body: [Array("the deadline passed while the request waited at broker b-1".utf8)])])
        #expect(router.isIdle)
    }

    /// A worker that registers takes the request waiting for its service at once; one that
    /// holds it past the deadline and the grace is told DISCONNECT and forgotten.
    @Test func aWaitingMajordomoRequestGoesToANewWorkerAndAFrozenWorkerIsDropped() {
        var clock = ManualClock()
        var (router, out) = Self.mesh(["e1"]) { $0.lateReplyGrace = .seconds(5) }
        let client = [Array("mdp-client".utf8)], worker = Array("w-1".utf8)
        router.majordomoRequest(ZMesh.MDP.Caller(service: "tts", dialect: .rfc18), body: [Array("hi".utf8)], from: client, now: clock.now, output: &out)
        clock.advance(by: .seconds(1))
        let id = router.registerWorker(worker, service: "tts", dialect: .rfc18, descriptor: 3, now: clock.now, output: &out)
        var sent = Header(command: .request, requestID: RequestID(client: Self.majordomoClient, sequence: 1), name: "tts")
        sent.flags = [.idempotent]
        sent.budgetMilliseconds = 9_000
        #expect(out.take() == [.workersChanged(WorkerSummary(services: ["tts"], load: 0, count: 1)),
                               .send(instance: id, route: client, header: sent, body: [Array("hi".utf8)])])
        clock.advance(by: .seconds(9) + .seconds(5))
        router.sweep(now: clock.now, output: &out)
        #expect(out.take() == [
            .majordomo(.final, route: client, service: "tts", status: StatusCode.deadlineExceeded.rawValue,
                       body: [Array("no answer from the instance holding it by its deadline, at broker b-1".utf8)]),
            .tell(worker, .disconnect),
            .workersChanged(WorkerSummary(services: [], load: 0, count: 0)),
        ])
        #expect(router.worker(routingID: worker) == nil)
        #expect(router.isIdle)
    }

    /// MDP has no CANCEL: a native call cancelled while a worker runs it is not sent to the
    /// worker again (it would arrive as a second REQUEST and run twice). The worker stays busy
    /// until it answers; its answer is dropped, not a reason to disconnect it; then it takes
    /// the next call.
    @Test func aCallCancelledAtAWorkerIsNeverSentAgainAndItsAnswerIsDropped() {
        let clock = ManualClock()
        var (router, out) = Self.mesh(["e1"])
        let worker = Array("w-1".utf8)
        let id = router.registerWorker(worker, service: "tts", dialect: .rfc18, descriptor: 3, now: clock.now, output: &out)
        let first = Self.request(1, "tts"), second = Self.request(2, "tts")
        router.request(first, body: Self.body, from: Self.alice, now: clock.now, output: &out)
        router.request(second, body: Self.body, from: Self.alice, now: clock.now, output: &out)
        _ = out.take()
        var cancel = first
        cancel.command = .cancel
        router.cancel(cancel, from: Self.alice, now: clock.now, output: &out)
        #expect(out.take().isEmpty)   // nothing to the worker; the second call still waits
        #expect(router.abandonedAnswer(first.requestID, from: id, final: false, now: clock.now, output: &out))
        #expect(out.take().isEmpty)
        #expect(router.abandonedAnswer(first.requestID, from: id, final: true, now: clock.now, output: &out))
        #expect(out.take() == [.send(instance: id, route: Self.alice, header: Self.forwarded(second), body: Self.body)])
        #expect(!router.abandonedAnswer(first.requestID, from: id, final: true, now: clock.now, output: &out))
    }

    /// A CANCEL for a call in flight goes on to its instance, and the place it frees goes to
    /// the next waiting call; a CANCEL from another client for the same id is ignored.
    @Test func aCancelReachesTheInstanceAndFreesItsPlace() {
        let clock = ManualClock()
        var (router, out) = Self.mesh(["e1"], capacity: 1)
        let first = Self.request(1), second = Self.request(2)
        router.request(first, body: Self.body, from: Self.alice, now: clock.now, output: &out)
        router.request(second, body: Self.body, from: Self.alice, now: clock.now, output: &out)
        _ = out.take()
        var cancel = first
        cancel.command = .cancel
        router.cancel(cancel, from: Self.bob, now: clock.now, output: &out)
        #expect(out.take().isEmpty)
        router.cancel(cancel, from: Self.alice, now: clock.now, output: &out)
        #expect(out.take() == [.send(instance: "e1", route: Self.alice, header: cancel, body: []),
                               .send(instance: "e1", route: Self.alice, header: Self.forwarded(second), body: Self.body)])
        #expect(router.flight(first.requestID) == nil)
    }

    /// Before the first registry answer requests wait rather than fail; an instance whose send
    /// fails is taken as not ready and the next is tried.
    @Test func requestsWaitForTheFirstRegistryAnswerAndSkipAnInstanceThatCannotBeReached() {
        let clock = ManualClock()
        var router = Self.router()
        var out = Recorder()
        let call = Self.request(1)
        router.request(call, body: Self.body, from: Self.alice, now: clock.now, output: &out)
        #expect(out.take().isEmpty)
        #expect(router.snapshot().queued == 1)
        router.apply([Self.info("e1"), Self.info("e2")], complete: true, now: clock.now, output: &out)
        _ = out.take()
        out.unsendable = ["e1"]
        for id in ["e1", "e2"] { router.connected(endpoint: Self.endpoint(id), now: clock.now, output: &out) }
        #expect(out.take() == [.send(instance: "e2", route: Self.alice, header: Self.forwarded(call), body: Self.body)])
        #expect(router.snapshot().readyInstances == 1)
    }
}
