/// A server-streaming method, declared once in a module its service and its callers share:
/// one `Request`, then any number of `Reply` messages (see ``MeshMethod`` for unary ones).
///
/// ```swift
/// public enum Greeter {
///     public static let countdown = MeshServerStreamingMethod<CountdownRequest, CountdownTick>("greeter.countdown")
/// }
/// handlers.register(Greeter.countdown) { request, context, writer in
///     for left in stride(from: request.from, through: 0, by: -1) { try await writer.write(CountdownTick(left: left)) }
/// }
/// for try await tick in client.stream(Greeter.countdown, CountdownRequest(from: 3)) { print(tick.left) }
/// ```
public struct MeshServerStreamingMethod<Request: Codable & Sendable, Reply: Codable & Sendable>: MeshMethodDeclaration {
    /// The name callers call.
    public let name: String
    /// How the request and each message are written.
    public let codec: any MeshCodec

    /// A method called `name`, its bodies written by `codec` (JSON by default).
    ///
    /// - Precondition: `name` is 1 to 255 bytes of UTF-8 without control characters.
    public init(_ name: String, codec: some MeshCodec = JSONMeshCodec()) {
        self.name = checkedMethodName(name)
        self.codec = codec
    }

    /// One request, a stream of replies.
    public var kind: MethodKind { .serverStreaming }
}

/// Writes the typed messages of a stream: a streaming method's handler gets one for its
/// replies, a caller of a client or bidirectional one for its requests.
public struct MeshMessageWriter<Message: Encodable & Sendable>: Sendable {
    let writer: MeshStreamWriter
    let codec: any MeshCodec

    /// Sends one message, waiting for the reader's credit as ``MeshStreamWriter/write(_:)`` does.
    public func write(_ message: Message) async throws {
        try await writer.write(try codec.encode(message))
    }
}

extension ServiceHandlers {
    /// Registers the handler of a declared server-streaming method: it gets the decoded
    /// request and a writer of typed messages. A request that does not decode answers
    /// ``MeshError/Code/badRequest``.
    public mutating func register<Request, Reply>(
        _ method: MeshServerStreamingMethod<Request, Reply>,
        _ handler: @escaping @Sendable (_ request: Request, _ context: RequestContext, _ writer: MeshMessageWriter<Reply>) async throws -> Void
    ) {
        let codec = method.codec
        registerServerStream(method.name) { payload, context, writer in
            let request: Request
            do {
                request = try codec.decode(Request.self, from: payload)
            } catch {
                throw BadRequest(message: "cannot decode \(Request.self): \(error)")
            }
            try await handler(request, context, MeshMessageWriter(writer: writer, codec: codec))
        }
        describe(method.description)
    }
}

extension MeshClient {
    /// Calls a declared server-streaming method: its typed messages, in order, as they come
    /// (see ``stream(_:_:options:window:)-(String,_,_,_)``). A message that does not decode ends the
    /// sequence with ``MeshError/Code/badRequest``.
    public func stream<Request, Reply>(
        _ method: MeshServerStreamingMethod<Request, Reply>, _ request: Request, options: CallOptions? = nil, window: Int = 64
    ) -> AsyncThrowingMapSequence<MeshStream, Reply> {
        let codec = method.codec
        let payload: [UInt8]
        do {
            payload = try codec.encode(request)
        } catch {
            // Nothing is sent (and no interceptor sees it): the sequence throws at once.
            let failed = MeshStream(failedWith: MeshError(.badRequest, service: method.name, message: "cannot encode \(Request.self): \(error)"))
            return failed.map { _ in
                throw MeshError(.badRequest, service: method.name, message: "cannot encode \(Request.self)")
            }
        }
        let messages = stream(method.name, payload, options: options, window: window)
        return messages.map { message in
            do {
                return try codec.decode(Reply.self, from: message)
            } catch {
                throw messages.readerFailed(MeshError(.badRequest, service: method.name,
                                                      message: "cannot decode a message as \(Reply.self): \(error)", mayHaveRun: true))
            }
        }
    }
}
