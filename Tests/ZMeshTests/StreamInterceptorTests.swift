import Testing
@testable import ZMesh
import ZMeshBuiltins
import ZMeshTestSupport

/// Client interceptors around streams, over real sockets, broker-less: the metadata they set
/// reaches every kind of stream handler, one can refuse a stream before anything is sent, and
/// the end each registers runs exactly once with how the stream ended.
@Suite("Client interceptors around streams")
struct StreamInterceptorTests {
    /// How one watched stream ended, as its interceptor's end handler saw it.
    struct Ended: Sendable {
        let id: String
        let name: String
        let kind: MethodKind
        let code: String
        let error: (any Error)?
        let sent: Int
        let received: Int
    }

    /// Appends `tag` to the `chain` metadata of every stream, records what it saw of each
    /// start, and records each end (in `order`, its tag, to show which end runs first).
    struct Watching: ClientInterceptor {
        let tag: String
        let started: Locked<[(kind: MethodKind, origin: String?, chain: String?)]>
        let ended: Locked<[Ended]>
        let order: Locked<[String]>

        init(_ tag: String, started: Locked<[(kind: MethodKind, origin: String?, chain: String?)]> = Locked([]),
             ended: Locked<[Ended]> = Locked([]), order: Locked<[String]>) {
            self.tag = tag
            self.started = started
            self.ended = ended
            self.order = order
        }

        func intercept(_ request: MeshRequest, context: ClientCallContext,
                       next: (MeshRequest, ClientCallContext) async throws(MeshError) -> MeshReply) async throws(MeshError) -> MeshReply {
            try await next(request, context)
        }

        func interceptStream(_ stream: inout ClientStreamStart, context: ClientCallContext) throws(MeshError) {
            started.update { $0.append((context.kind, stream.metadata["origin"], stream.metadata["chain"])) }
            stream.metadata["chain"] = (stream.metadata["chain"] ?? "") + tag
            let id = stream.metadata["id"] ?? "", ended = self.ended, order = self.order, tag = self.tag
            stream.onEnd { outcome in
                ended.update {
                    $0.append(Ended(id: id, name: context.name, kind: context.kind, code: outcome.code, error: outcome.error,
                                    sent: outcome.messagesSent, received: outcome.messagesReceived))
                }
                order.update { $0.append(tag) }
            }
        }
    }

    /// Refuses streams (only streams) without a `token`.
    struct RequireToken: ClientInterceptor {
        static let refusal = MeshError(.forbidden, service: "guard", message: "a stream needs a token")

        func intercept(_ request: MeshRequest, context: ClientCallContext,
                       next: (MeshRequest, ClientCallContext) async throws(MeshError) -> MeshReply) async throws(MeshError) -> MeshReply {
            try await next(request, context)
        }

        func interceptStream(_ stream: inout ClientStreamStart, context: ClientCallContext) throws(MeshError) {
            guard stream.metadata["token"] != nil else { throw Self.refusal }
        }
    }

    /// An interceptor written for calls only: streams pass it untouched.
    struct CallsOnly: ClientInterceptor {
        func intercept(_ request: MeshRequest, context: ClientCallContext,
                       next: (MeshRequest, ClientCallContext) async throws(MeshError) -> MeshReply) async throws(MeshError) -> MeshReply {
            try await next(request, context)
        }
    }

    private let patient = CallOptions(timeout: .seconds(60))

    private func options(id: String, _ extra: [String: String] = [:]) -> CallOptions {
        var options = patient
        options.metadata["id"] = id
        for (key, value) in extra { options.metadata[key] = value }
        return options
    }

    /// A node whose `tag.*` handlers answer the `chain` metadata they got, whose `fail.server`
    /// writes two messages then throws, whose `wait.server` writes one then waits until
    /// cancelled, with the built-in streams; `runs` counts the runs of the `tag.*` handlers.
    private func startNode(runs: Locked<Int> = Locked(0)) async throws -> (ServiceNode, String) {
        var handlers = BuiltinServices.streams()
        handlers.merge(try BuiltinServices.handlers(for: ["echo"], nodeName: "streams-1"))
        handlers.registerServerStream("tag.server") { _, context, writer in
            runs.update { $0 += 1 }
            try await writer.write((context.metadata["chain"] ?? "-").bytes)
        }
        handlers.registerClientStream("tag.client") { requests, context in
            runs.update { $0 += 1 }
            for try await _ in requests {}
            return (context.metadata["chain"] ?? "-").bytes
        }
        handlers.registerBidirectionalStream("tag.bidi") { requests, context, writer in
            runs.update { $0 += 1 }
            try await writer.write((context.metadata["chain"] ?? "-").bytes)
            for try await message in requests { try await writer.write(message) }
        }
        handlers.registerServerStream("fail.server") { _, _, writer in
            try await writer.write("1".bytes)
            try await writer.write("2".bytes)
            throw ServiceError(code: 409, message: "no more")
        }
        handlers.registerServerStream("wait.server") { _, _, writer in
            try await writer.write("1".bytes)
            try await Task.sleep(for: .seconds(120))
        }
        return try await startTestNode(name: "streams-1", handlers: handlers)
    }

    @Test func theMetadataInterceptorsSetReachesEveryKindOfStreamHandlerInOrder() async throws {
        let (node, endpoint) = try await startNode()
        let started = Locked<[(kind: MethodKind, origin: String?, chain: String?)]>([])
        let order = Locked<[String]>([])
        let client = try makeClient([endpoint]) {
            $0.interceptors = [Watching("a", started: started, order: order), CallsOnly(), Watching("b", order: order)]
        }
        let opts = options(id: "m", ["origin": "options"])

        var server: [String] = []
        for try await message in client.stream("tag.server", [], options: opts) { server.append(message.text) }
        #expect(server == ["ab"])
        let reply = try await client.clientStream("tag.client", options: opts) { writer in try await writer.write("x".bytes) }
        #expect(reply.payload.text == "ab")
        let bidi = try await client.bidirectionalStream("tag.bidi", options: opts) { writer in
            try await writer.write("x".bytes)
        } replies: { replies in
            try await replies.reduce(into: [String]()) { $0.append($1.text) }
        }
        #expect(bidi == ["ab", "x"])

        // The first interceptor saw each start first, with CallOptions.metadata already merged
        // in, and knew the kind; its end ran last.
        #expect(started.value.map(\.kind) == [.serverStreaming, .clientStreaming, .bidirectionalStreaming])
        #expect(started.value.allSatisfy { $0.origin == "options" && $0.chain == nil })
        #expect(order.value == ["b", "a", "b", "a", "b", "a"])
        // A call passes through interceptStream not at all.
        #expect(try await client.call("echo", "hi".bytes).text == "hi")
        #expect(started.value.count == 3)
        await client.shutdown()
        await node.stop()
    }

    @Test func anInterceptorThatRefusesEndsTheStreamWithItsErrorAndSendsNothing() async throws {
        let runs = Locked(0)
        let (node, endpoint) = try await startNode(runs: runs)
        let ended = Locked<[Ended]>([])
        let order = Locked<[String]>([])
        let client = try makeClient([endpoint]) {
            $0.interceptors = [Watching("a", ended: ended, order: order), RequireToken(), Watching("b", order: order)]
        }

        do {
            for try await _ in client.stream("tag.server", [], options: options(id: "s")) { Issue.record("a refused stream delivered") }
            Issue.record("a refused server stream ended well")
        } catch {
            #expect(error as? MeshError == RequireToken.refusal)
        }
        await #expect(throws: RequireToken.refusal) {
            _ = try await client.clientStream("tag.client", options: options(id: "c")) { writer in try await writer.write("x".bytes) }
        }
        await #expect(throws: RequireToken.refusal) {
            try await client.bidirectionalStream("tag.bidi", options: options(id: "b")) { writer in
                try await writer.write("x".bytes)
            } replies: { replies in
                for try await _ in replies {}
            }
        }
        // The interceptor before the refusal saw each end, with the refusal; the one after
        // never saw them start.
        #expect(ended.value.map(\.id) == ["s", "c", "b"])
        #expect(ended.value.allSatisfy { $0.code == "forbidden" && ($0.error as? MeshError) == RequireToken.refusal })
        #expect(order.value == ["a", "a", "a"])

        // With the token the same stream goes through: on the same connection, after anything
        // the refused ones could have sent, and its handler is the only one that ran.
        var passed: [String] = []
        for try await message in client.stream("tag.server", [], options: options(id: "ok", ["token": "t"])) { passed.append(message.text) }
        #expect(passed == ["ab"])
        #expect(runs.value == 1)
        await client.shutdown()
        await node.stop()
    }

    @Test func theEndRunsOnceWithHowEachStreamEnded() async throws {
        let (node, endpoint) = try await startNode()
        let ended = Locked<[Ended]>([])
        let client = try makeClient([endpoint]) { $0.interceptors = [Watching("a", ended: ended, order: Locked([]))] }

        // Server streams: read whole, failed by the handler, left early, cancelled.
        var count = 0
        for try await _ in client.stream("stream.count", "5".bytes, options: options(id: "whole")) { count += 1 }
        #expect(count == 5)
        var beforeFailure = 0
        do {
            for try await _ in client.stream("fail.server", [], options: options(id: "failed")) { beforeFailure += 1 }
            Issue.record("fail.server ended well")
        } catch {
            #expect((error as? MeshError)?.applicationCode == 409)
        }
        #expect(beforeFailure == 2)
        for try await _ in client.stream("stream.count", "1000".bytes, options: options(id: "left"), window: 8) { break }
        let reading = Locked(false)
        let waiting = Task {
            for try await _ in client.stream("wait.server", [], options: options(id: "cancelled")) { reading.value = true }
        }
        #expect(await eventually(timeout: .seconds(30)) { reading.value })
        waiting.cancel()
        _ = await waiting.result

        // Client and bidirectional streams: whole, a writer's own error, replies left early.
        let sum = try await client.clientStream("stream.sum", options: options(id: "sum")) { writer in
            for number in 1...3 { try await writer.write("\(number)".bytes) }
        }
        #expect(sum.payload.text == "6 3")   // the sum, then how many
        struct WriterGaveUp: Error {}
        await #expect(throws: WriterGaveUp.self) {
            _ = try await client.clientStream("stream.sum", options: options(id: "gave-up")) { writer in
                try await writer.write("1".bytes)
                throw WriterGaveUp()
            }
        }
        let echoed = try await client.bidirectionalStream("stream.echo", options: options(id: "echo")) { writer in
            for word in ["a", "b", "c"] { try await writer.write(word.bytes) }
        } replies: { replies in
            try await replies.reduce(into: [String]()) { $0.append($1.text) }
        }
        #expect(echoed == ["a", "b", "c"])
        let first = try await client.bidirectionalStream("stream.echo", options: options(id: "first")) { writer in
            for word in ["a", "b", "c"] { try await writer.write(word.bytes) }
            try await Task.sleep(for: .seconds(120))
        } replies: { replies in
            for try await message in replies { return message.text }
            return ""
        }
        #expect(first == "a")

        #expect(await eventually { ended.value.count == 8 }, "\(ended.value.map(\.id))")
        await client.shutdown()
        let byID = Dictionary(grouping: ended.value, by: \.id)
        #expect(byID.values.allSatisfy { $0.count == 1 }, "each end runs once: \(ended.value.map(\.id))")
        func end(_ id: String) -> Ended? { byID[id]?.first }
        #expect(end("whole")?.code == "ok")
        #expect(end("whole")?.received == 5)
        #expect(end("whole")?.kind == .serverStreaming)
        #expect(end("failed")?.code == "application")
        #expect((end("failed")?.error as? MeshError)?.applicationCode == 409)
        #expect(end("failed")?.received == 2)
        #expect(end("left")?.code == "cancelled")
        #expect(end("left")?.received == 1)
        #expect(end("cancelled")?.code == "cancelled")
        #expect(end("sum")?.code == "ok")
        #expect(end("sum")?.sent == 3)
        #expect(end("sum")?.kind == .clientStreaming)
        #expect(end("gave-up")?.error is WriterGaveUp)
        #expect(end("gave-up")?.code == "cancelled")
        #expect(end("echo")?.code == "ok")
        #expect(end("echo")?.sent == 3 && end("echo")?.received == 3)
        #expect(end("echo")?.kind == .bidirectionalStreaming)
        #expect(end("first")?.code == "cancelled")
        #expect(end("first")?.received == 1)
        #expect(ended.value.count == 8)
        await node.stop()
    }
}
