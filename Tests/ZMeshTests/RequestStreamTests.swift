import Foundation
import Synchronization
import Testing
@testable import ZMesh
import ZMeshBuiltins
import ZMeshTestSupport

/// Client and bidirectional streams over real sockets, broker-less: order, flow control, a
/// writer's error, an early answer, kinds that do not fit.
@Suite("Client and bidirectional streams")
struct RequestStreamTests {
    /// What a test's handler and writer did.
    final class Progress: Sendable {
        let read = Atomic<Int>(0)
        let written = Atomic<Int>(0)
        let handlerCancelled = Atomic<Bool>(false)
        let gate = TestGate()
    }

    private let patient = CallOptions(timeout: .seconds(60))

    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    /// A node with the built-in streams and `watched.sum`: reads `before` messages, waits at
    /// the gate, reads the rest; answers how many it read.
    private func startNode(_ progress: Progress = Progress(), before: Int = 10) async throws -> (ServiceNode, String) {
        var handlers = BuiltinServices.streams()
        handlers.merge(try BuiltinServices.handlers(for: ["echo"], nodeName: "streams-1"))
        handlers.registerClientStream("watched.sum") { requests, _ in
            var iterator = requests.makeAsyncIterator()
            do {
                while let _ = try await iterator.next() {
                    if progress.read.add(1, ordering: .relaxed).newValue == before { await progress.gate.wait() }
                }
            } catch is CancellationError {
                progress.handlerCancelled.store(true, ordering: .relaxed)
                throw CancellationError()
            }
            if Task.isCancelled { progress.handlerCancelled.store(true, ordering: .relaxed) }
            return Array("\(progress.read.load(ordering: .relaxed))".utf8)
        }
        handlers.registerClientStream("first.only") { requests, _ in
            for try await message in requests { return message }
            return []
        }
        return try await startTestNode(name: "streams-1", handlers: handlers)
    }

    @Test func aClientStreamDeliversEveryMessageInOrder() async throws {
        let (node, endpoint) = try await startNode()
        let client = try makeClient([endpoint])
        let reply = try await client.clientStream("stream.sum", options: patient) { writer in
            for number in 1...10_000 { try await writer.write(Array("\(number)".utf8)) }
        }
        #expect(text(reply.payload) == "50005000 10000")
        #expect(await client.stats().streamMessagesSent == 10_000)
        // No message at all: the handler sees an empty stream. From a fresh client too, whose
        // writer ends before it is even connected: the end waits for the service's credit.
        let empty = try await client.clientStream("stream.sum") { _ in }
        #expect(text(empty.payload) == "0 0")
        let fresh = try makeClient([endpoint])
        let freshEmpty = try await fresh.clientStream("stream.sum", options: CallOptions(timeout: .seconds(20))) { _ in }
        #expect(text(freshEmpty.payload) == "0 0")
        await fresh.shutdown()
        await client.shutdown()
        await node.stop()
    }

    @Test func aBidirectionalStreamEchoesEachMessageInOrder() async throws {
        let (node, endpoint) = try await startNode()
        let client = try makeClient([endpoint])
        let echoed = try await client.bidirectionalStream("stream.echo", options: patient, window: 16) { writer in
            for number in 1...5_000 { try await writer.write(Array("\(number)".utf8)) }
        } replies: { replies in
            try await replies.reduce(into: [Int]()) { $0.append(Int(String(decoding: $1, as: UTF8.self)) ?? -1) }
        }
        #expect(echoed == Array(1...5_000))
        await client.shutdown()
        await node.stop()
    }

    @Test func aSlowHandlerHoldsTheWriterBackAndLosesNothing() async throws {
        let progress = Progress()
        let (node, endpoint) = try await startNode(progress, before: 10)
        let client = try makeClient([endpoint])
        let call = Task {
            try await client.clientStream("watched.sum", options: patient) { writer in
                for number in 1...1_000 {
                    try await writer.write(Array("\(number)".utf8))
                    progress.written.add(1, ordering: .relaxed)
                }
            }
        }
        // The handler read 10 and waits: the service granted 64 and no more (it grants again
        // after 32 read), so the writer has sent 64 and waits in its 65th write.
        #expect(await eventually(timeout: .seconds(30)) {
            progress.read.load(ordering: .relaxed) == 10 && progress.written.load(ordering: .relaxed) == 64
        })
        #expect(await client.stats().streamMessagesSent == 64)
        #expect(progress.written.load(ordering: .relaxed) == 64)
        progress.gate.open()
        #expect(text(try await call.value.payload) == "1000")
        await client.shutdown()
        await node.stop()
    }

    struct WriterFailed: Error {}

    @Test func aWritersErrorCancelsTheCallAndTheHandler() async throws {
        let progress = Progress()
        let (node, endpoint) = try await startNode(progress, before: 1_000_000)
        let client = try makeClient([endpoint])
        do {
            _ = try await client.clientStream("watched.sum", options: patient) { writer in
                for number in 1...20 { try await writer.write(Array("\(number)".utf8)) }
                #expect(await eventually(timeout: .seconds(30)) { progress.read.load(ordering: .relaxed) == 20 })
                throw WriterFailed()
            }
            Issue.record("the call outlived its writer's error")
        } catch is WriterFailed {}
        #expect(await eventually(timeout: .seconds(30)) { progress.handlerCancelled.load(ordering: .relaxed) })
        await client.shutdown()
        await node.stop()
    }

    @Test func anEarlyAnswerEndsTheCallAndItsWrites() async throws {
        let (node, endpoint) = try await startNode()
        let client = try makeClient([endpoint])
        let writes = Atomic<Int>(0)
        let reply = try await client.clientStream("first.only", options: patient) { writer in
            for number in 1...1_000_000 {
                try await writer.write(Array("\(number)".utf8))
                writes.add(1, ordering: .relaxed)
            }
        }
        #expect(text(reply.payload) == "1")
        #expect(writes.load(ordering: .relaxed) < 1_000_000)
        await client.shutdown()
        await node.stop()
    }

    @Test func kindsThatDoNotFitAreRefusedBeforeRunning() async throws {
        let (node, endpoint) = try await startNode()
        let client = try makeClient([endpoint])
        do {
            _ = try await client.call("stream.sum", Array("1".utf8))
            Issue.record("a client-streaming method answered a plain call")
        } catch {
            #expect(error.code == .badRequest)
        }
        do {
            _ = try await client.clientStream("echo") { writer in try await writer.write(Array("x".utf8)) }
            Issue.record("a unary method took a stream of requests")
        } catch let error as MeshError {
            #expect(error.code == .badRequest)
        }
        let methods = try await client.describeNode().methods
        #expect(methods.first { $0.name == "stream.sum" }?.kind == .clientStreaming)
        #expect(methods.first { $0.name == "stream.echo" }?.kind == .bidirectionalStreaming)
        await client.shutdown()
        await node.stop()
    }
}

/// The service side's book-keeping of request streams, alone (sinks are plain numbers).
@Suite("Request stream credit")
struct RequestStreamsTests {
    @Test func partsAreTakenOnlyWithinCreditFromTheStreamsOwnCaller() {
        var streams = RequestStreams<Int>()
        let id = RequestID(client: 1, sequence: 1)
        let caller: [[UInt8]] = [[1, 2, 3]]
        streams.open(id, route: caller, sink: 7, credit: 2)
        #expect(streams.part(id, from: [[9]], isMessage: true, isLast: false).0 == .unknown)
        #expect(streams.part(id, from: caller, isMessage: true, isLast: false) == (.deliver(last: false), 7))
        #expect(streams.part(id, from: caller, isMessage: true, isLast: false).0 == .deliver(last: false))
        // A third message without more credit: the caller broke flow control; the stream ends.
        #expect(streams.part(id, from: caller, isMessage: true, isLast: false) == (.overrun, 7))
        #expect(streams.count == 0)

        streams.open(id, route: caller, sink: 8, credit: 0)
        #expect(streams.grant(id, 1) == caller)
        _ = streams.grant(id, Int.max / 2)
        _ = streams.grant(id, Int.max / 2)   // capped: no overflow
        #expect(streams.part(id, from: caller, isMessage: true, isLast: true) == (.deliver(last: true), 8))
        #expect(streams.part(id, from: caller, isMessage: false, isLast: true).0 == .unknown)
        streams.open(id, route: caller, sink: 9, credit: 0)
        #expect(streams.part(id, from: caller, isMessage: false, isLast: true) == (.end, 9))
        #expect(streams.close(id) == nil)
    }
}
