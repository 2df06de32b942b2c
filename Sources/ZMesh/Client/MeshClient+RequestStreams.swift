import Synchronization

/// Client and bidirectional streams: the caller sends a stream of messages (docs/PROTOCOL.md,
/// "Streams").
extension MeshClient {
    /// Calls a client-streaming method: `requests` writes any number of messages, in order,
    /// and the call returns the handler's one reply. Each `write` returns once the message is
    /// sent, and waits while the service has not granted room for it (flow control: at most
    /// a window of messages ahead of what the handler has read). The stream of requests ends
    /// when `requests` returns.
    ///
    /// If `requests` throws, the call is cancelled (the handler's task too) and this throws
    /// that error. If the handler answers before reading everything, a pending `write` throws
    /// and the reply is returned. ``CallOptions/timeout`` covers the whole call. A call that
    /// has sent no message fails over like any call (per ``CallOptions/idempotent``); one that
    /// has is never re-sent: it throws `unavailable`. The client's interceptors see the stream
    /// start here and end when this returns or throws (``ClientInterceptor/interceptStream(_:context:)``);
    /// one that refuses it makes this throw its error, with nothing sent.
    ///
    /// ```swift
    /// let total = try await client.clientStream("stream.sum") { writer in
    ///     for number in 1...100 { try await writer.write(Array("\(number)".utf8)) }
    /// }
    /// print(String(decoding: total.payload, as: UTF8.self))   // 5050
    /// ```
    public func clientStream(_ name: String, options: CallOptions? = nil,
                             requests: @escaping @Sendable (MeshStreamWriter) async throws -> Void) async throws -> MeshReply {
        let options = options ?? defaultOptions
        var metadata = options.metadata
        var ending: ClientStreamEnding?
        if !interceptors.isEmpty {
            (metadata, ending) = try core.interceptStreamStart(name, kind: .clientStreaming, options: options)
        }
        do {
            let reply = try await clientStream(name, metadata: metadata, options: options, ending: ending, requests: requests)
            ending?.callReturned(nil)
            return reply
        } catch {
            ending?.callReturned(error)
            throw error
        }
    }

    /// A client stream with `metadata` (the interceptors' work done), counting the messages
    /// written into `ending`.
    private func clientStream(_ name: String, metadata: Metadata, options: CallOptions, ending: ClientStreamEnding?,
                              requests: @escaping @Sendable (MeshStreamWriter) async throws -> Void) async throws -> MeshReply {
        try core.checkStart(name, metadata: metadata)
        let seq = nextSequence()
        let core = self.core
        let (outcomes, outcome) = AsyncStream<Result<MeshReply, MeshError>>.makeStream(bufferingPolicy: .bufferingNewest(1))
        core.startRequestStream(name, metadata: metadata, options: options, sequence: seq,
                                completion: .client { result in outcome.yield(result); outcome.finish() }, window: 0,
                                ending: ending)
        return try await withThrowingTaskGroup(of: (any Error)?.self) { group in
            group.addTask { await Self.produce(requests, of: seq, on: core, ending: ending) }
            var iterator = outcomes.makeAsyncIterator()
            let result = await withTaskCancellationHandler {
                await iterator.next()
            } onCancel: {
                core.abandon(seq)
            } ?? .failure(MeshError(.cancelled, service: name, message: "the calling task was cancelled"))
            group.cancelAll()   // a writer still waiting (for input, say) stops: the call is over
            if case .success(let reply) = result { return reply }
            let producerError = (try? await group.next()) ?? nil
            throw Self.streamError(result, producerError: producerError)
        }
    }

    /// Calls a bidirectional-streaming method: `requests` writes messages to the handler while
    /// `replies` reads the handler's, each way in order and under its own flow control; returns
    /// what `replies` returns. The requests end when `requests` returns; the replies when the
    /// handler returns (the sequence ends) or throws (the sequence throws).
    ///
    /// If `requests` throws, the call is cancelled and this throws that error; if `replies`
    /// returns or throws before the end, the call is cancelled (the handler's task too) and
    /// `requests` is cancelled. Deadline and failover as ``clientStream(_:options:requests:)->MeshReply``.
    /// The client's interceptors see the stream start here and end when this returns or throws
    /// (``ClientInterceptor/interceptStream(_:context:)``).
    ///
    /// ```swift
    /// let echoed = try await client.bidirectionalStream("stream.echo") { writer in
    ///     for word in ["a", "b", "c"] { try await writer.write(Array(word.utf8)) }
    /// } replies: { replies in
    ///     try await replies.reduce(into: []) { $0.append(String(decoding: $1, as: UTF8.self)) }
    /// }
    /// ```
    ///
    /// - Parameters:
    ///   - name: the bidirectional-streaming method to call, such as `stream.echo`.
    ///   - options: timeout (for the whole call), metadata and failover; the client's
    ///     ``MeshClient/Configuration/defaultOptions`` when nil.
    ///   - window: the replies the service may send before the caller reads any (at least 2),
    ///     as for ``stream(_:_:options:window:)-(String,_,_,_)``.
    ///   - requests: writes the requests; they end when it returns.
    ///   - replies: reads the replies; what it returns, this returns.
    public func bidirectionalStream<Result: Sendable>(
        _ name: String, options: CallOptions? = nil, window: Int = 64,
        requests: @escaping @Sendable (MeshStreamWriter) async throws -> Void,
        replies: (MeshStream) async throws -> Result
    ) async throws -> Result {
        let options = options ?? defaultOptions
        let window = min(max(2, window), Int(UInt16.max))
        var metadata = options.metadata
        var ending: ClientStreamEnding?
        if !interceptors.isEmpty {
            (metadata, ending) = try core.interceptStreamStart(name, kind: .bidirectionalStreaming, options: options)
        }
        do {
            let result = try await bidirectionalStream(name, metadata: metadata, options: options, window: window, ending: ending,
                                                       requests: requests, replies: replies)
            ending?.callReturned(nil)
            return result
        } catch {
            ending?.callReturned(error)
            throw error
        }
    }

    /// A bidirectional stream with `metadata` (the interceptors' work done), counting the
    /// messages each way into `ending`, which also learns how the reply stream's reader ended.
    private func bidirectionalStream<Result: Sendable>(
        _ name: String, metadata: Metadata, options: CallOptions, window: Int, ending: ClientStreamEnding?,
        requests: @escaping @Sendable (MeshStreamWriter) async throws -> Void,
        replies: (MeshStream) async throws -> Result
    ) async throws -> Result {
        try core.checkStart(name, metadata: metadata)
        let seq = nextSequence()
        let core = self.core
        let (messages, continuation) = StreamChunks.makeStream()
        continuation.onTermination = { termination in
            if case .cancelled = termination {
                ending?.readerStopped()
                core.abandon(seq)
            }
        }
        core.startRequestStream(name, metadata: metadata, options: options, sequence: seq,
                                completion: .stream(continuation), window: window, ending: ending)
        let stream = MeshStream(messages: messages, window: window, ending: ending) { count in core.grant(seq, count) }
        return try await withThrowingTaskGroup(of: (any Error)?.self) { group in
            group.addTask { await Self.produce(requests, of: seq, on: core, ending: ending) }
            let consumed: Swift.Result<Result, any Error>
            do {
                consumed = .success(try await replies(stream))
            } catch {
                consumed = .failure(error)
            }
            core.abandon(seq)   // ends the call if the replies stopped early; nothing if it is over
            group.cancelAll()
            let producerError = (try? await group.next()) ?? nil
            switch consumed {
            case .success(let result): return result
            case .failure(let error): throw Self.preferred(error, producerError: producerError)
            }
        }
    }

    /// Runs the caller's writer of call `seq`'s requests, then ends them; on its own error,
    /// cancels the call and returns the error.
    private static func produce(_ requests: @Sendable (MeshStreamWriter) async throws -> Void, of seq: UInt64,
                                on core: ClientCore<ZMQTransport>, ending: ClientStreamEnding?) async -> (any Error)? {
        let writer = if let ending {
            MeshStreamWriter(offer: nil) { payload in
                try await core.writePart(seq, payload)
                ending.messageSent()
            }
        } else {
            MeshStreamWriter(offer: nil) { payload in try await core.writePart(seq, payload) }
        }
        do {
            try await requests(writer)
            core.endRequests(seq)
            return nil
        } catch {
            core.abandon(seq)
            return error
        }
    }

    /// What a stream whose call failed throws: the caller's own error if its writer threw one
    /// (the call was cancelled for it), else the call's.
    private static func streamError(_ result: Swift.Result<MeshReply, MeshError>, producerError: (any Error)?) -> any Error {
        guard case .failure(let error) = result else { return MeshError(.cancelled, service: "", message: "the stream ended") }
        return preferred(error, producerError: producerError)
    }

    /// The writer's own error (not one a write threw because the call ended) before the call's.
    private static func preferred(_ error: any Error, producerError: (any Error)?) -> any Error {
        if let producerError, !(producerError is MeshError), !(producerError is CancellationError) { return producerError }
        return error
    }
}
