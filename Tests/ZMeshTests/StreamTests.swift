import Foundation
import Synchronization
import Testing
@testable import ZMesh
import ZMeshBuiltins
import ZMeshTestSupport

/// Server streams over real sockets, broker-less: order, flow control, cancellation, errors
/// mid stream, the deadline.
@Suite("Server streams")
struct StreamTests {
    /// What a streaming handler did, seen from the test.
    final class Progress: Sendable {
        let attempted = Atomic<Int>(0)
        let written = Atomic<Int>(0)
        let cancelled = Atomic<Bool>(false)
    }

    /// Long enough that only what a test checks ends its streams, however loaded the machine.
    private let patient = CallOptions(timeout: .seconds(60))

    private func numbers(_ messages: [[UInt8]]) -> [Int] {
        messages.compactMap { Int(String(decoding: $0, as: UTF8.self)) }
    }

    /// A node with `stream.count`, `echo` and a handler writing up to `limit` numbers into `progress`.
    private func startNode(_ progress: Progress = Progress(), limit: Int = 1_000,
                           then ending: @escaping @Sendable () async throws -> Void = {}) async throws -> (ServiceNode, String) {
        var handlers = BuiltinServices.streams()
        handlers.merge(try BuiltinServices.handlers(for: ["echo"], nodeName: "stream-1"))
        handlers.registerServerStream("watched.count") { _, _, writer in
            do {
                for number in 1...limit {
                    progress.attempted.add(1, ordering: .relaxed)
                    try await writer.write(Array(String(number).utf8))
                    progress.written.add(1, ordering: .relaxed)
                }
                try await ending()
            } catch is CancellationError {
                progress.cancelled.store(true, ordering: .relaxed)
                throw CancellationError()
            }
        }
        return try await startTestNode(name: "stream-1", handlers: handlers)
    }

    @Test func aServerStreamArrivesWholeAndInOrder() async throws {
        let (node, endpoint) = try await startNode()
        let client = try makeClient([endpoint])
        var received: [[UInt8]] = []
        for try await message in client.stream("stream.count", Array("10000".utf8), options: patient, window: 16) { received.append(message) }
        #expect(numbers(received) == Array(1...10_000))
        #expect(await client.stats().streamMessages == 10_000)
        // Zero numbers: a stream that ends at once.
        var none = 0
        for try await _ in client.stream("stream.count", Array("0".utf8)) { none += 1 }
        #expect(none == 0)
        await client.shutdown()
        await node.stop()
    }

    @Test func aSlowReaderHoldsTheWriterBackAndLosesNothing() async throws {
        let progress = Progress()
        let (node, endpoint) = try await startNode(progress, limit: 1_000)
        let client = try makeClient([endpoint])
        var iterator = client.stream("watched.count", [], options: patient, window: 8).makeAsyncIterator()
        var received: [[UInt8]] = []
        for _ in 0..<10 { received.append(try #require(try await iterator.next())) }
        // Read 10 of a window of 8: credit came back twice (after 4 and 8), so the writer may
        // have written 8 + 8 = 16 and is waiting in its 17th write. A write returns once queued
        // for the node's loop, so the 16th reaches the client a moment later.
        #expect(await eventually(timeout: .seconds(30)) {
            progress.attempted.load(ordering: .relaxed) == 17 && progress.written.load(ordering: .relaxed) == 16
        })
        #expect(await eventually(timeout: .seconds(30)) { await client.stats().streamMessages == 16 })
        #expect(progress.written.load(ordering: .relaxed) == 16)
        #expect(await client.stats().streamMessages == 16)
        while let message = try await iterator.next() { received.append(message) }
        #expect(numbers(received) == Array(1...1_000))
        await client.shutdown()
        await node.stop()
    }

    @Test func aReaderThatStopsCancelsTheHandler() async throws {
        let progress = Progress()
        let (node, endpoint) = try await startNode(progress, limit: 1_000_000)
        let client = try makeClient([endpoint])
        let task = Task {
            var read = 0
            for try await _ in client.stream("watched.count", [], options: patient, window: 8) {
                read += 1
                if read == 5 { break }
            }
            return read
        }
        #expect(try await task.value == 5)
        #expect(await eventually(timeout: .seconds(30)) { progress.cancelled.load(ordering: .relaxed) })
        #expect(progress.written.load(ordering: .relaxed) < 1_000_000)
        await client.shutdown()
        await node.stop()
    }

    @Test func aHandlersErrorEndsTheStreamAfterItsMessages() async throws {
        let (node, endpoint) = try await startNode(limit: 3) { throw ServiceError(code: 409, message: "three is enough") }
        let client = try makeClient([endpoint])
        var received: [[UInt8]] = []
        do {
            for try await message in client.stream("watched.count", [], options: patient) { received.append(message) }
            Issue.record("the stream ended without the handler's error")
        } catch let error as MeshError {
            #expect(error.code == .application && error.applicationCode == 409 && error.message == "three is enough")
        }
        #expect(numbers(received) == [1, 2, 3])
        await client.shutdown()
        await node.stop()
    }

    @Test func theDeadlineCoversTheWholeStream() async throws {
        let progress = Progress()
        let (node, endpoint) = try await startNode(progress, limit: 2) { try await Task.sleep(for: .seconds(60)) }
        let client = try makeClient([endpoint])
        var received = 0
        do {
            // Long enough for the two messages on a loaded machine; the handler then waits a minute.
            for try await _ in client.stream("watched.count", [], options: CallOptions(timeout: .seconds(3))) { received += 1 }
            Issue.record("the stream outlived its deadline")
        } catch let error as MeshError {
            #expect(error.code == .timeout)
        }
        #expect(received == 2)
        await client.shutdown()
        await node.stop()
    }

    @Test func streamsAndCallsMeetOnlyWhereTheyFit() async throws {
        let (node, endpoint) = try await startNode()
        let client = try makeClient([endpoint])
        // A plain call to a streaming method is refused before it streams anything.
        do {
            _ = try await client.call("stream.count", Array("3".utf8))
            Issue.record("a plain call to a streaming method was answered")
        } catch {
            #expect(error.code == .badRequest)
        }
        // A unary method called as a stream: its reply is a stream of one.
        var echoed: [[UInt8]] = []
        for try await message in client.stream("echo", Array("hi".utf8)) { echoed.append(message) }
        #expect(echoed == [Array("hi".utf8)])
        // mesh.describe tells the kinds apart.
        let methods = try await client.describeNode().methods
        #expect(methods.first { $0.name == "stream.count" }?.kind == .serverStreaming)
        #expect(methods.first { $0.name == "echo" }?.kind == .unary)
        await client.shutdown()
        await node.stop()
    }
}

/// The service side's credit book-keeping and outbox, alone (waiters are plain numbers here).
@Suite("Server stream credit")
struct ServerStreamsTests {
    @Test func writesQueueWithinCreditAndWaitBeyondIt() {
        let outbox = StreamOutbox<Int>(credit: 2)
        // The first write asks for a flush; the next, before the flush, does not.
        #expect(outbox.offer([1]) == .queued(askFlush: true))
        #expect(outbox.offer([2]) == .queued(askFlush: false))
        #expect(outbox.offer([3]) == .noCredit)
        #expect(outbox.wait([3], 3) == .noCredit)
        // A second writer while one waits is refused (writes do not overlap).
        #expect(outbox.offer([4]) == .stopped)
        #expect(outbox.take().bodies == [[1], [2]])
        // Credit hands back the waiter, its message queued.
        #expect(outbox.grant(1) == 3)
        #expect(outbox.take().bodies == [[3]])
        #expect(outbox.offer([5]) == .noCredit)
        // However much is granted, the credit stays bounded: no overflow.
        _ = outbox.grant(Int.max / 2)
        _ = outbox.grant(Int.max / 2)
        for index in 0..<3 { #expect(outbox.offer([UInt8(index)]) != .noCredit) }
        // Stopped: queued messages are dropped, later writes refused.
        #expect(outbox.stop() == nil)
        #expect(outbox.take().bodies.isEmpty)
        #expect(outbox.offer([9]) == .stopped)
        #expect(outbox.sent == 6)
    }

    @Test func aBurstMakesTheLoopLingerAndALoneMessageGoesAtOnce() {
        let outbox = StreamOutbox<Int>(credit: 10_000)
        // A lone message asks for a flush; a flush of a few starts no lingering.
        #expect(outbox.offer([1]) == .queued(askFlush: true))
        #expect(outbox.take().startLinger == false)
        for index in 1..<ServerStreamTuning.burst - 1 { _ = outbox.offer([UInt8(index)]) }
        #expect(outbox.take().startLinger == false)
        // A burst (that many or more before the flush) makes the loop linger ...
        #expect(outbox.offer([2]) == .queued(askFlush: true))
        for _ in 1..<ServerStreamTuning.burst { #expect(outbox.offer([3]) == .queued(askFlush: false)) }
        let burst = outbox.take()
        #expect(burst.bodies.count == ServerStreamTuning.burst && burst.startLinger)
        // ... so writes meanwhile ask for nothing: the linger timer takes them.
        #expect(outbox.offer([4]) == .queued(askFlush: false))
        let lingered = outbox.takeLingering()
        #expect(lingered.bodies == [[4]] && lingered.lingerOn)
        // Enough queued asks at once even while lingering (once).
        for index in 1..<ServerStreamTuning.flushMessages {
            #expect(outbox.offer([UInt8(truncatingIfNeeded: index)]) == .queued(askFlush: false))
        }
        #expect(outbox.offer([0]) == .queued(askFlush: true))
        #expect(outbox.offer([0]) == .queued(askFlush: false))
        #expect(outbox.take().bodies.count == ServerStreamTuning.flushMessages + 1)
        // A linger flush that finds nothing ends the lingering: the next write asks again.
        #expect(outbox.takeLingering().lingerOn == false)
        #expect(outbox.offer([5]) == .queued(askFlush: true))
    }

    @Test func theLastCreditAsksForAFlushWhileLingering() {
        let outbox = StreamOutbox<Int>(credit: ServerStreamTuning.burst + 2)
        for _ in 0..<ServerStreamTuning.burst { _ = outbox.offer([1]) }
        #expect(outbox.take().startLinger)
        #expect(outbox.offer([3]) == .queued(askFlush: false))
        // The writer is about to wait for credit: what it wrote must go now, not at the timer.
        #expect(outbox.offer([4]) == .queued(askFlush: true))
        #expect(outbox.offer([5]) == .noCredit)
    }

    @Test func creditComesOnlyFromTheStreamsOwnCaller() {
        var streams = ServerStreams<Int>()
        let id = RequestID(client: 1, sequence: 1)
        let caller: [[UInt8]] = [[1, 2, 3]]
        let outbox = streams.open(id, route: caller, credit: 0, batches: true)
        #expect(outbox.offer([1]) == .noCredit)
        #expect(outbox.wait([1], 1) == .noCredit)
        // Someone else's CREDIT for this id changes nothing; the caller's lets the write go.
        #expect(streams.grant(id, 5, from: [[9, 9]]) == nil)
        #expect(streams.grant(id, 1, from: caller)?.waiter == 1)
        // The caller takes batches: the write went into a batch frame.
        #expect(streams.close(id)?.outbox.take().bodies == [[0, 0, 0, 1, 1]])
        #expect(streams[id] == nil)
    }

    @Test func aBatchCarriesEveryMessageAndRefusesBadLengths() {
        let messages: [[UInt8]] = [[], [1], Array(repeating: 7, count: 300)]
        let frames = StreamBatch.frames(messages)
        #expect(frames.count == 1)
        #expect(StreamBatch.messages(frames[0]) == messages)
        // Past the frame size, a new frame starts; a message larger than that goes alone.
        let big = (0..<3).map { _ in [UInt8](repeating: 1, count: StreamBatch.frameBytes) }
        #expect(StreamBatch.frames(big).count == 3)
        #expect(StreamBatch.messages([0, 0, 0, 5, 1]) == nil)
        #expect(StreamBatch.messages([0, 0]) == nil)
    }
}
