import Foundation
import Synchronization
import Testing
import ZMeshTestSupport
@testable import ZeroMQ

/// Send coalescing: small messages sent during a loop turn wait in the socket and go to
/// libzmq together at the turn's end, in order, without waiting for anything else.
@Suite("Send coalescing", .timeLimit(.minutes(1)))
struct SendCoalescingTests {
    private func pair(_ loop: EventLoop, limit: Int) async throws -> (router: ZMQSocketActor, dealer: ZMQSocketActor) {
        let router = try await ZMQSocketActor.make(on: loop, type: .router, options: [.routerMandatory(true)])
        try await router.bind(privateEndpoint("pair"))
        let endpoint = try await router.lastEndpoint()
        let dealer = try await ZMQSocketActor.make(on: loop, type: .dealer)
        await dealer.setSendCoalescing(limit: limit)
        try await dealer.connect(endpoint)
        // One message each way first: the connection is up and the router knows the dealer.
        try await dealer.send([[], [0]])
        _ = try await receive(router)
        return (router, dealer)
    }

    /// The next message, or a failure after `timeout` (a held message that never left).
    private func receive(_ socket: ZMQSocketActor, timeout: Duration = .seconds(10)) async throws -> [[UInt8]] {
        try await withThrowingTaskGroup(of: [[UInt8]]?.self) { group in
            group.addTask { try await socket.receive() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            let first = try await group.next() ?? nil
            return try #require(first, "nothing arrived within \(timeout)")
        }
    }

    private static func number(_ frame: [UInt8]) -> Int {
        frame.reduce(0) { $0 << 8 | Int($1) }
    }

    @Test func messagesSentInOneTurnAreHeldThenArriveInOrder() async throws {
        let loop = try EventLoop(name: "t-coalesce")
        let (router, dealer) = try await pair(loop, limit: 64)
        let (results, heldAfter) = await dealer.sendNumbered(0..<10)
        // Held in the socket while the turn lasts, not yet in libzmq.
        #expect(results.allSatisfy { $0 == .queued })
        #expect(heldAfter == 10)
        for expected in 0..<10 {
            let frames = try await receive(router)
            #expect(frames.count == 4)
            #expect(Self.number(frames[3]) == expected)
        }
        #expect(await dealer.outboundQueued == 0)
        await loop.shutdown()
    }

    @Test func aLoneMessageLeavesWithNothingElseHappening() async throws {
        let loop = try EventLoop(name: "t-coalesce-lone")
        let (router, dealer) = try await pair(loop, limit: 64)
        _ = await dealer.sendNumbered(7..<8)
        #expect(Self.number(try await receive(router)[3]) == 7)
        await loop.shutdown()
    }

    @Test func reachingTheLimitSendsWithinTheTurn() async throws {
        let loop = try EventLoop(name: "t-coalesce-limit")
        let (router, dealer) = try await pair(loop, limit: 4)
        let (_, heldAfter) = await dealer.sendNumbered(0..<10)
        #expect(heldAfter == 2)   // 8 went in two groups of 4 during the turn
        for expected in 0..<10 { #expect(Self.number(try await receive(router)[3]) == expected) }
        await loop.shutdown()
    }

    @Test func aLargeMessageGoesAtOnceAfterTheHeldOnes() async throws {
        let loop = try EventLoop(name: "t-coalesce-large")
        let (router, dealer) = try await pair(loop, limit: 64)
        let large = [UInt8](repeating: 9, count: ZMQSocketActor.largestHeldMessage + 1)
        let heldAfter = await dealer.sendSmallThenLarge(large)
        #expect(heldAfter == 0)
        #expect(Self.number(try await receive(router)[3]) == 1)
        #expect(try await receive(router)[2] == large)
        await loop.shutdown()
    }

    @Test func sendOrDropGoesAfterWhatIsHeld() async throws {
        let loop = try EventLoop(name: "t-coalesce-drop")
        let (router, dealer) = try await pair(loop, limit: 64)
        await dealer.sendHeldThenSendOrDrop()
        #expect(try await receive(router)[2] == [1])
        #expect(try await receive(router)[2] == [2])
        await loop.shutdown()
    }

    @Test func closingWithALingerSendsWhatIsHeld() async throws {
        let loop = try EventLoop(name: "t-coalesce-close")
        let (router, dealer) = try await pair(loop, limit: 64)
        await dealer.sendThenCloseLingering()
        #expect(Self.number(try await receive(router)[3]) == 5)
        await loop.shutdown()
    }

    @Test func discardingTheOutboundQueueDropsWhatIsHeld() async throws {
        let loop = try EventLoop(name: "t-coalesce-discard")
        let (router, dealer) = try await pair(loop, limit: 64)
        let discarded = await dealer.sendThenDiscard()
        #expect(discarded == 3)
        // The next message is the first to arrive: the discarded ones never left.
        _ = await dealer.sendNumbered(42..<43)
        #expect(Self.number(try await receive(router)[3]) == 42)
        await loop.shutdown()
    }

    @Test func aHeldReplyToAPeerGoneIsReportedLate() async throws {
        let loop = try EventLoop(name: "t-coalesce-late")
        let router = try await ZMQSocketActor.make(on: loop, type: .router, options: [.routerMandatory(true)])
        await router.setSendCoalescing(limit: 64)
        let (failures, continuation) = AsyncStream.makeStream(of: ZMQSocketActor.SendResult.self)
        await router.onLateSendFailure { continuation.yield($0) }
        let result = try await router.sendEnvelope(routing: [Array("nobody".utf8)], header: UnsafeRawBufferPointer(start: nil, count: 0), body: [1])
        #expect(result == .queued)
        var iterator = failures.makeAsyncIterator()
        #expect(await iterator.next() == .unroutable)
        await loop.shutdown()
    }

    @Test func aLateFailureIsReportedAtTheTurnsEndNeverFromInsideASend() async throws {
        let loop = try EventLoop(name: "t-coalesce-late-inline")
        let router = try await ZMQSocketActor.make(on: loop, type: .router, options: [.routerMandatory(true)])
        await router.setSendCoalescing(limit: 2)
        let calls = await router.sendTwoToNobodyRecordingReentry()
        // The second send reached the limit and flushed both within the send, yet the owner
        // heard of the two failures only after its own code had returned.
        #expect(await eventually { calls.value.count == 2 })
        #expect(calls.value.allSatisfy { $0 == .unroutable })
        #expect(!calls.reportedDuringSend)
        await loop.shutdown()
    }

    @Test func aTurnEndActionRunsBeforeTheLoopSleeps() async throws {
        let loop = try EventLoop(name: "t-turn-end")
        // Nothing else wakes this loop: if the actions waited for another turn, this would hang.
        let order = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[String], any Error>) in
            loop.execute {
                var order = ["job"]
                loop.atTurnEnd {
                    order.append("first")
                    loop.atTurnEnd {
                        order.append("asked by the first")
                        continuation.resume(returning: order)
                    }
                }
            }
        }
        #expect(order == ["job", "first", "asked by the first"])
        await loop.shutdown()
    }
}

/// Late failures a test's handler heard, and whether any came while the test was sending.
final class LateFailures: Sendable {
    private let state = Mutex<(results: [ZMQSocketActor.SendResult], sending: Bool, reentered: Bool)>(([], false, false))
    var value: [ZMQSocketActor.SendResult] { state.withLock { $0.results } }
    var reportedDuringSend: Bool { state.withLock { $0.reentered } }
    func sending(_ on: Bool) { state.withLock { $0.sending = on } }
    func record(_ result: ZMQSocketActor.SendResult) {
        state.withLock {
            $0.results.append(result)
            if $0.sending { $0.reentered = true }
        }
    }
}

extension ZMQSocketActor {
    func sendTwoToNobodyRecordingReentry() -> LateFailures {
        let failures = LateFailures()
        onLateSendFailure { failures.record($0) }
        failures.sending(true)
        for _ in 0..<2 { _ = try? send([Array("nobody".utf8), [], [1]]) }
        failures.sending(false)
        return failures
    }

    /// Sends each number as an envelope in this one turn; the results and what is held after.
    func sendNumbered(_ numbers: Range<Int>) -> ([SendResult], Int) {
        let results = numbers.map { number -> SendResult in
            let header: [UInt8] = [0x5A]
            let body = NumberedFrame.make(number)
            return header.withUnsafeBytes { (try? sendEnvelope(routing: [], header: $0, body: body)) ?? .dropped }
        }
        return (results, held.count)
    }

    func sendSmallThenLarge(_ large: [UInt8]) -> Int {
        _ = sendNumbered(1..<2)
        _ = try? send([[], large])
        return held.count
    }

    func sendHeldThenSendOrDrop() {
        _ = try? send([[], [1]])
        _ = sendOrDrop([[], [2]])
    }

    func sendThenCloseLingering() {
        _ = sendNumbered(5..<6)
        close(lingering: .seconds(2))
    }

    func sendThenDiscard() -> Int {
        _ = sendNumbered(0..<3)
        return discardOutbound()
    }
}
