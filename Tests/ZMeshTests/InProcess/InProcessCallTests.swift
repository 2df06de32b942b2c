import Testing
@testable import ZMesh
import ZMeshTestSupport
import Synchronization

/// Clients and service nodes across the in-process transport: the hard cases of a call's
/// life, deterministic (one queue, a manual clock), with no sockets and no sleeps.
@Suite("In process: calls between clients and services")
struct InProcessCallTests {
    @Test func aCallReachesAServiceAndItsReplyComesBack() async throws {
        let mesh = InProcessMesh()
        let runs = Runs()
        _ = try await mesh.service("a", Runs.handlers("work", node: "a", runs: runs, holding: false))
        let client = await mesh.client(.endpoints(["inproc://a"]))
        let reply = await Calls().start(client, "work", "hi").value
        #expect(try reply.get() == "a:hi")
        #expect(await runs.runs.map(\.attempt) == [0])
    }

    @Test func anInstanceKilledWithCallsInFlightHasThemResentOnceWithTheSameIDs() async throws {
        let mesh = InProcessMesh()
        let runs = Runs()
        let client = await mesh.client(.endpoints(["inproc://a", "inproc://b"]))
        // Only a is up: every call goes there, and waits in its handler.
        let (_, a) = try await mesh.service("a", Runs.handlers("work", node: "a", runs: runs, holding: true))
        let calls = Calls()
        let tasks = (0..<3).map { calls.start(client, "work", "\($0)") }
        await runs.waitFor(3)
        _ = try await mesh.service("b", Runs.handlers("work", node: "b", runs: runs, holding: false))
        await a.kill()
        for task in tasks { #expect(try await task.value.get().hasPrefix("b:")) }
        let first = await runs.runs(on: "a"), second = await runs.runs(on: "b")
        // Each call ran once at a and once, with the same id, at b: re-sent once, never more.
        #expect(Set(first.map(\.requestID)) == Set(second.map(\.requestID)))
        #expect(first.count == 3 && second.count == 3)
        #expect(second.allSatisfy { $0.attempt == 1 })
        #expect(await client.snapshot().retries == 3)
        await runs.release()
    }

    @Test func aNonIdempotentCallAtAKilledInstanceEndsUnavailableAndMayHaveRun() async throws {
        let mesh = InProcessMesh()
        let runs = Runs()
        let client = await mesh.client(.endpoints(["inproc://a", "inproc://b"]))
        let (_, a) = try await mesh.service("a", Runs.handlers("work", node: "a", runs: runs, holding: true))
        let task = Calls().start(client, "work", options: CallOptions(idempotent: false))
        await runs.waitFor(1)
        _ = try await mesh.service("b", Runs.handlers("work", node: "b", runs: runs, holding: false))
        await a.kill()
        guard case .failure(let error) = await task.value else {
            Issue.record("a non-idempotent call was re-sent")
            return
        }
        #expect(error.code == .unavailable)
        #expect(error.mayHaveRun)
        #expect(await runs.runs(on: "b").isEmpty)
        await runs.release()
    }

    @Test func aCallToAnEndpointNobodyListensAtEndsUnsentAndTheNextReachesItOnceItListens() async throws {
        let mesh = InProcessMesh()
        let runs = Runs()
        let client = await mesh.client(.endpoints(["inproc://late"]))
        let calls = Calls()
        guard case .failure(let error) = await calls.start(client, "work", "x").value else {
            Issue.record("a call to an endpoint nobody listens at succeeded")
            return
        }
        #expect(error.code == .unavailable)
        #expect(!error.mayHaveRun)
        // The client keeps reconnecting: once something listens there, calls go through.
        _ = try await mesh.service("late", Runs.handlers("work", node: "late", runs: runs, holding: false))
        #expect(try await calls.start(client, "work", "y").value.get() == "late:y")
        #expect(await runs.runs.count == 1)
    }

    @Test func aCallEndsAtItsDeadlineExactlyAndItsHandlerIsCancelled() async throws {
        let mesh = InProcessMesh()
        let runs = Runs()
        let (service, _) = try await mesh.service("a", Runs.handlers("work", node: "a", runs: runs, holding: true))
        let client = await mesh.client(.endpoints(["inproc://a"]))
        let task = Calls().start(client, "work", options: CallOptions(timeout: .seconds(2)))
        await runs.waitFor(1)
        await mesh.advance(by: .milliseconds(1_999))
        #expect(await client.snapshot().inFlight == 1)
        await mesh.advance(by: .milliseconds(1))
        guard case .failure(let error) = await task.value else {
            Issue.record("the call outlived its deadline")
            return
        }
        #expect(error.code == .timeout)
        // The client's CANCEL reached the service: its handler was cancelled, nothing runs.
        #expect(await eventually { await runs.cancelled == 1 })
        #expect(await eventually { await service.snapshot().running == 0 })
        #expect(await service.snapshot().cancelled == 1)
    }

    @Test func aDrainRefusesNewCallsWhileItsRunningCallFinishes() async throws {
        let mesh = InProcessMesh()
        let runs = Runs()
        let (service, _) = try await mesh.service("a", Runs.handlers("work", node: "a", runs: runs, holding: true))
        let client = await mesh.client(.endpoints(["inproc://a"]))
        let calls = Calls()
        let old = calls.start(client, "work", "old")
        await runs.waitFor(1)
        await service.stopAccepting()
        let refused = await calls.start(client, "work", "new", options: CallOptions(maxAttempts: 1)).value
        guard case .failure(let error) = refused else {
            Issue.record("a draining node took a new call")
            return
        }
        #expect(error.code == .unavailable)
        #expect(!error.mayHaveRun)
        #expect(await runs.runs.count == 1)
        // The drain waits for the held call (or, started after it ended, returns at once).
        let drained = Task { await service.waitUntilDrained(limit: .seconds(30)) }
        await runs.release()
        #expect(try await old.value.get() == "a:old")
        _ = await drained.value
        #expect(await service.snapshot().running == 0)
    }

    @Test func aDrainThatOutlastsItsLimitEndsOnTheClock() async throws {
        let mesh = InProcessMesh()
        let runs = Runs()
        let (service, _) = try await mesh.service("a", Runs.handlers("work", node: "a", runs: runs, holding: true))
        let client = await mesh.client(.endpoints(["inproc://a"]))
        _ = Calls().start(client, "work", options: CallOptions(timeout: .seconds(60)))
        await runs.waitFor(1)
        await service.stopAccepting()
        let start = mesh.network.now
        let finished = Mutex(false)
        let drained = Task {
            let waited = await service.waitUntilDrained(limit: .seconds(10))
            finished.withLock { $0 = true }
            return waited
        }
        // The limit's timer is on the manual clock: the wait ends once 10 s have passed on
        // it, with the call still running.
        #expect(await eventually {
            await mesh.advance(by: .seconds(1))
            return finished.withLock { $0 }
        })
        #expect(await drained.value)
        #expect(mesh.network.now.nanoseconds - start.nanoseconds >= 10_000_000_000)
        #expect(await service.snapshot().running == 1)
        await runs.release()
    }

    @Test func aCallCancelledByItsCallerCancelsItsHandler() async throws {
        let mesh = InProcessMesh()
        let runs = Runs()
        let (service, _) = try await mesh.service("a", Runs.handlers("work", node: "a", runs: runs, holding: true))
        let client = await mesh.client(.endpoints(["inproc://a"]))
        let task = Calls().start(client, "work")
        await runs.waitFor(1)
        task.cancel()
        guard case .failure(let error) = await task.value else {
            Issue.record("a cancelled call succeeded")
            return
        }
        #expect(error.code == .cancelled)
        #expect(await eventually { await runs.cancelled == 1 })
        #expect(await eventually { await service.snapshot().cancelled == 1 })
    }

    @Test func aRetryOfACallThatAlreadyRanIsAnsweredFromTheReplyCache() async throws {
        let mesh = InProcessMesh()
        var handlers = ServiceHandlers()
        let count = Mutex(0)
        handlers.registerInline("count") { _, _ in
            Array(String(count.withLock { value in
                value += 1
                return value
            }).utf8)
        }
        let (service, _) = try await mesh.service("a", handlers)
        let client = await mesh.client(.endpoints(["inproc://a"]))
        #expect(try await Calls().start(client, "count").value.get() == "1")
        // The same request id again, as a client re-sending after losing its connection would.
        let header = Header(command: .request, requestID: RequestID(client: 7, sequence: 1), name: "count")
        let socket = try await mesh.network.transport(named: "raw").makeSocket(.dealer, options: SocketOptions())
        try await socket.connect("inproc://a")
        let replies = Replies()
        try await socket.onMessage { frames in replies.add(frames) }
        _ = await socket.transmit([[], header.encoded(), []])
        await mesh.network.settle()
        #expect(replies.payloads == [Array("1".utf8)])
        #expect(await service.snapshot().cacheHits == 1)
        #expect(count.withLock { $0 } == 1)
    }
}


/// Messages a raw socket received, payload frames only.
final class Replies: Sendable {
    private let frames = Mutex<[[[UInt8]]]>([])
    func add(_ message: [[UInt8]]) { frames.withLock { $0.append(message) } }
    var payloads: [[UInt8]] { frames.withLock { $0.compactMap { $0.count >= 3 ? $0[2] : nil } } }
}
