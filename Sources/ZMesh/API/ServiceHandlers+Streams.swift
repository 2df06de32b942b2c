/// Streaming handlers: server streams (one request, many replies), client streams (many
/// requests, one reply) and bidirectional streams (many each way). docs/PROTOCOL.md,
/// "Streams", says how they travel and how flow control bounds them.
extension ServiceHandlers {
    /// A server-streaming handler: it writes the stream's messages through `writer`, and the
    /// stream ends when it returns (see ``registerServerStream(_:_:)``).
    public typealias ServerStreamHandler = @Sendable (_ payload: [UInt8], _ context: RequestContext,
                                                      _ writer: MeshStreamWriter) async throws -> Void

    /// A client-streaming handler: it reads the caller's messages from `requests` and returns
    /// the one reply (see ``registerClientStream(_:_:)``).
    public typealias ClientStreamHandler = @Sendable (_ requests: MeshStream, _ context: RequestContext) async throws -> [UInt8]

    /// A bidirectional-streaming handler: it reads the caller's messages from `requests` and
    /// writes its own through `writer`, in any interleaving; the stream ends when it returns
    /// (see ``registerBidirectionalStream(_:_:)``).
    public typealias BidirectionalStreamHandler = @Sendable (_ requests: MeshStream, _ context: RequestContext,
                                                             _ writer: MeshStreamWriter) async throws -> Void

    /// Registers a server-streaming handler: one request, then the messages it writes, in
    /// order, until it returns (the end of the stream) or throws (the caller's sequence throws
    /// that error, after the messages written before). Callers use
    /// ``MeshClient/stream(_:_:options:window:)-(String,_,_,_)`` or `zmesh call NAME --stream`; a plain call
    /// is refused with ``MeshError/Code/badRequest``. Each stream runs as its own task.
    ///
    /// ```swift
    /// handlers.registerServerStream("stream.count") { payload, context, writer in
    ///     for number in 1...10 { try await writer.write(Array("\(number)".utf8)) }
    /// }
    /// ```
    public mutating func registerServerStream(_ name: String, _ handler: @escaping ServerStreamHandler) {
        precondition(Header.isValidName(name), "handler name must be 1 to 255 bytes of UTF-8 without control characters: \(name)")
        handlers[name] = .concurrent { request, context in
            guard let writer = context.streamWriter else {
                throw BadRequest(message: "\(name) is a server-streaming method: call it as a stream (MeshClient.stream, zmesh call --stream)")
            }
            try await handler(request.payload, context, writer)
            return MeshReply(payload: [])
        }
        describe(MethodDescription(name: name, kind: .serverStreaming))
    }

    /// Registers a client-streaming handler: the caller sends any number of messages, in
    /// order, and gets the one reply the handler returns. The handler reads them from
    /// `requests`, which ends when the caller has sent its last (or throws if the caller went
    /// away); it may reply before reading them all. Callers use
    /// ``MeshClient/clientStream(_:options:requests:)->MeshReply`` or `zmesh call NAME --client-stream`.
    /// Flow control: the caller sends at most a window (64) of messages ahead of what the
    /// handler has read. Each stream runs as its own task.
    ///
    /// ```swift
    /// handlers.registerClientStream("stream.sum") { requests, context in
    ///     var total = 0
    ///     for try await message in requests { total += Int(String(decoding: message, as: UTF8.self)) ?? 0 }
    ///     return Array("\(total)".utf8)
    /// }
    /// ```
    public mutating func registerClientStream(_ name: String, _ handler: @escaping ClientStreamHandler) {
        precondition(Header.isValidName(name), "handler name must be 1 to 255 bytes of UTF-8 without control characters: \(name)")
        handlers[name] = .concurrent { _, context in
            guard let requests = context.requestStream else {
                throw BadRequest(message: "\(name) is a client-streaming method: call it with a stream of requests")
            }
            return MeshReply(payload: try await handler(requests, context))
        }
        describe(MethodDescription(name: name, kind: .clientStreaming))
    }

    /// Registers a bidirectional-streaming handler: the caller's messages come in `requests`
    /// as they are sent, the handler's go out through `writer`, each way in order and under
    /// its own flow control; the stream ends when the handler returns (or throws: the
    /// caller's sequence throws that error). Callers use
    /// ``MeshClient/bidirectionalStream(_:options:window:requests:replies:)-(String,_,_,_,_)`` or
    /// `zmesh call NAME --client-stream --stream`. Each stream runs as its own task.
    ///
    /// ```swift
    /// handlers.registerBidirectionalStream("chat") { requests, context, writer in
    ///     for try await line in requests { try await writer.write(line) }
    /// }
    /// ```
    public mutating func registerBidirectionalStream(_ name: String, _ handler: @escaping BidirectionalStreamHandler) {
        precondition(Header.isValidName(name), "handler name must be 1 to 255 bytes of UTF-8 without control characters: \(name)")
        handlers[name] = .concurrent { _, context in
            guard let requests = context.requestStream, let writer = context.streamWriter else {
                throw BadRequest(message: "\(name) is a bidirectional-streaming method: call it as a stream each way")
            }
            try await handler(requests, context, writer)
            return MeshReply(payload: [])
        }
        describe(MethodDescription(name: name, kind: .bidirectionalStreaming))
    }
}
