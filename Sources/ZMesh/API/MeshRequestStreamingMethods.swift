/// A client-streaming method, declared once in a module its service and its callers share:
/// a stream of `Request` messages, then one `Reply` (see ``MeshMethod`` for unary ones).
///
/// ```swift
/// public enum Stats {
///     public static let average = MeshClientStreamingMethod<Sample, Summary>("stats.average")
/// }
/// handlers.register(Stats.average) { samples, context in
///     var count = 0, total = 0.0
///     for try await sample in samples { count += 1; total += sample.value }
///     return Summary(count: count, mean: count == 0 ? 0 : total / Double(count))
/// }
/// let summary = try await client.clientStream(Stats.average) { writer in
///     for value in values { try await writer.write(Sample(value: value)) }
/// }
/// ```
public struct MeshClientStreamingMethod<Request: Codable & Sendable, Reply: Codable & Sendable>: MeshMethodDeclaration {
    /// The name callers call.
    public let name: String
    /// How each request and the reply are written.
    public let codec: any MeshCodec

    /// A method called `name`, its bodies written by `codec` (JSON by default).
    ///
    /// - Precondition: `name` is 1 to 255 bytes of UTF-8 without control characters.
    public init(_ name: String, codec: some MeshCodec = JSONMeshCodec()) {
        self.name = checkedMethodName(name)
        self.codec = codec
    }

    /// A stream of requests, one reply.
    public var kind: MethodKind { .clientStreaming }
}

/// A bidirectional-streaming method, declared once in a module its service and its callers
/// share: a stream of `Request` messages one way and of `Reply` messages the other.
///
/// ```swift
/// public enum Chat {
///     public static let room = MeshBidirectionalStreamingMethod<Line, Line>("chat.room")
/// }
/// ```
public struct MeshBidirectionalStreamingMethod<Request: Codable & Sendable, Reply: Codable & Sendable>: MeshMethodDeclaration {
    /// The name callers call.
    public let name: String
    /// How each message is written, both ways.
    public let codec: any MeshCodec

    /// A method called `name`, its bodies written by `codec` (JSON by default).
    ///
    /// - Precondition: `name` is 1 to 255 bytes of UTF-8 without control characters.
    public init(_ name: String, codec: some MeshCodec = JSONMeshCodec()) {
        self.name = checkedMethodName(name)
        self.codec = codec
    }

    /// A stream each way.
    public var kind: MethodKind { .bidirectionalStreaming }
}

/// The typed messages of a stream, decoded with `codec` as they are read; a message that does
/// not decode throws ``MeshError/Code/badRequest``.
func decodedMessages<Message: Decodable & Sendable>(_ messages: MeshStream, as type: Message.Type, codec: any MeshCodec,
                                                    method: String) -> AsyncThrowingMapSequence<MeshStream, Message> {
    messages.map { message in
        do {
            return try codec.decode(Message.self, from: message)
        } catch {
            throw messages.readerFailed(MeshError(.badRequest, service: method, message: "cannot decode a message as \(Message.self): \(error)",
                                                  mayHaveRun: true))
        }
    }
}

extension ServiceHandlers {
    /// Registers the handler of a declared client-streaming method: it reads the decoded
    /// requests and returns the reply. A request that does not decode ends the handler's
    /// sequence with ``MeshError/Code/badRequest``, which the caller gets.
    public mutating func register<Request, Reply>(
        _ method: MeshClientStreamingMethod<Request, Reply>,
        _ handler: @escaping @Sendable (_ requests: AsyncThrowingMapSequence<MeshStream, Request>, _ context: RequestContext) async throws -> Reply
    ) {
        let codec = method.codec
        let name = method.name
        registerClientStream(name) { requests, context in
            try codec.encode(try await handler(decodedMessages(requests, as: Request.self, codec: codec, method: name), context))
        }
        describe(method.description)
    }

    /// Registers the handler of a declared bidirectional-streaming method: it reads the
    /// decoded requests and writes typed replies.
    public mutating func register<Request, Reply>(
        _ method: MeshBidirectionalStreamingMethod<Request, Reply>,
        _ handler: @escaping @Sendable (_ requests: AsyncThrowingMapSequence<MeshStream, Request>, _ context: RequestContext,
                                        _ writer: MeshMessageWriter<Reply>) async throws -> Void
    ) {
        let codec = method.codec
        let name = method.name
        registerBidirectionalStream(name) { requests, context, writer in
            try await handler(decodedMessages(requests, as: Request.self, codec: codec, method: name), context,
                              MeshMessageWriter(writer: writer, codec: codec))
        }
        describe(method.description)
    }
}

extension MeshClient {
    /// Calls a declared client-streaming method: `requests` writes typed messages, and the
    /// call returns the decoded reply (see ``clientStream(_:options:requests:)``).
    public func clientStream<Request, Reply>(
        _ method: MeshClientStreamingMethod<Request, Reply>, options: CallOptions? = nil,
        requests: @escaping @Sendable (MeshMessageWriter<Request>) async throws -> Void
    ) async throws -> Reply {
        let codec = method.codec
        let reply = try await clientStream(method.name, options: options) { writer in
            try await requests(MeshMessageWriter(writer: writer, codec: codec))
        }
        do {
            return try codec.decode(Reply.self, from: reply.payload)
        } catch {
            throw MeshError(.badRequest, service: method.name, message: "cannot decode the reply as \(Reply.self): \(error)", mayHaveRun: true)
        }
    }

    /// Calls a declared bidirectional-streaming method: `requests` writes typed messages while
    /// `replies` reads the decoded ones (see ``bidirectionalStream(_:options:window:requests:replies:)``).
    public func bidirectionalStream<Request, Reply, Result: Sendable>(
        _ method: MeshBidirectionalStreamingMethod<Request, Reply>, options: CallOptions? = nil, window: Int = 64,
        requests: @escaping @Sendable (MeshMessageWriter<Request>) async throws -> Void,
        replies: (AsyncThrowingMapSequence<MeshStream, Reply>) async throws -> Result
    ) async throws -> Result {
        let codec = method.codec
        let name = method.name
        return try await bidirectionalStream(name, options: options, window: window) { writer in
            try await requests(MeshMessageWriter(writer: writer, codec: codec))
        } replies: { messages in
            try await replies(decodedMessages(messages, as: Reply.self, codec: codec, method: name))
        }
    }
}
