import Synchronization

extension MeshClient {
    /// Calls a server-streaming method: one request, then the handler's messages as they come,
    /// in order, as an asynchronous sequence. The sequence ends when the handler returns, and
    /// throws a ``MeshError`` when it throws (after the messages it sent before), at the
    /// deadline (``CallOptions/timeout`` covers the whole stream), or when the instance is lost.
    ///
    /// Flow control is end to end: the service sends at most `window` messages ahead of what
    /// the caller has read, so a slow reader never makes anyone buffer without bound.
    /// Stopping early (leaving the loop, or cancelling the task) cancels the handler.
    ///
    /// A stream that has not delivered a message fails over like a call (per
    /// ``CallOptions/idempotent``); one that has is never re-sent: it throws `unavailable`.
    /// The client's interceptors see the stream start here and end when the caller reads its
    /// end or stops reading (``ClientInterceptor/interceptStream(_:context:)``); an interceptor
    /// that refuses it makes the sequence throw its error, with nothing sent.
    ///
    /// ```swift
    /// for try await message in client.stream("stream.count", Array("5".utf8)) {
    ///     print(String(decoding: message, as: UTF8.self))   // 1, 2, 3, 4, 5
    /// }
    /// ```
    ///
    /// - Parameters:
    ///   - name: the server-streaming method to call, such as `stream.count`.
    ///   - payload: the request body.
    ///   - options: timeout (for the whole stream), metadata and failover; the client's
    ///     ``MeshClient/Configuration/defaultOptions`` when nil.
    ///   - window: messages the service may send before the caller reads any (at
    ///     least 2; credit is granted back in halves of it).
    public func stream(_ name: String, _ payload: [UInt8], options: CallOptions? = nil, window: Int = 64) -> MeshStream {
        let options = options ?? defaultOptions
        let window = min(max(2, window), Int(UInt16.max))
        var metadata = options.metadata
        var ending: ClientStreamEnding?
        if !interceptors.isEmpty {
            do {
                (metadata, ending) = try core.interceptStreamStart(name, kind: .serverStreaming, options: options)
            } catch {
                return MeshStream(failedWith: error)
            }
        }
        let (messages, continuation) = StreamChunks.makeStream()
        let seq = nextSequence()
        let core = self.core
        let watched = ending
        continuation.onTermination = { termination in
            if case .cancelled = termination {
                watched?.readerStopped()
                core.abandon(seq)
            }
        }
        core.stream(name, payload, metadata: metadata, options: options, window: window, sequence: seq, messages: continuation,
                    ending: ending)
        return MeshStream(messages: messages, window: window, ending: ending) { count in core.grant(seq, count) }
    }
}

/// The messages of a server stream (``MeshClient/stream(_:_:options:window:)-(String,_,_,_)``), in order.
/// Iterate it once. It throws a ``MeshError``.
public struct MeshStream: AsyncSequence, Sendable {
    public typealias Element = [UInt8]

    let messages: StreamChunks
    let window: Int
    /// The end client interceptors watch (nil when none does): told of each message read and
    /// of the end the reader sees.
    var ending: ClientStreamEnding? = nil
    let grant: @Sendable (Int) -> Void

    public func makeAsyncIterator() -> Iterator {
        Iterator(base: messages.makeAsyncIterator(), grantEvery: Swift.max(1, window / 2), ending: ending, grant: grant)
    }

    /// Reads the stream, granting the sender credit as messages are read. Its fast path (the
    /// next message of a batch frame already here) is inlined into the reader's loop: no
    /// asynchronous call per message.
    public struct Iterator: AsyncIteratorProtocol {
        @usableFromInline var base: StreamChunks.AsyncIterator
        @usableFromInline let grantEvery: Int
        @usableFromInline let ending: ClientStreamEnding?
        @usableFromInline let grant: @Sendable (Int) -> Void
        @usableFromInline var read = 0
        /// The batch frame being read, and where its next message starts.
        @usableFromInline var batch: [UInt8] = []
        @usableFromInline var offset = 0

        init(base: StreamChunks.AsyncIterator, grantEvery: Int, ending: ClientStreamEnding?, grant: @escaping @Sendable (Int) -> Void) {
            self.base = base
            self.grantEvery = grantEvery
            self.ending = ending
            self.grant = grant
        }

        /// Whether the next message is already here, in the batch frame being read: a reader
        /// that buffers what it does with messages (the CLI's output) can hold it until this is
        /// false, and so never sits on a message while the stream is quiet.
        package var hasBufferedMessage: Bool { offset < batch.count }

        /// The next message; nil at the end of the stream.
        ///
        /// - Throws: ``MeshError``.
        @inlinable
        public mutating func next() async throws -> [UInt8]? {
            try await next(isolation: nil)
        }

        /// The next message, read on the caller's actor (`for try await` passes it): no hop to
        /// the global executor and back for each message of a stream read on the main actor.
        ///
        /// - Throws: ``MeshError``.
        @inlinable
        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> [UInt8]? {
            if offset < batch.count, let message = nextInBatch() { return received(message) }
            return try await nextChunk(isolation: actor)
        }

        /// Waits for the next chunk and returns its first message; nil at the end.
        @usableFromInline
        mutating func nextChunk(isolation actor: isolated (any Actor)?) async throws -> [UInt8]? {
            while true {
                let chunk: StreamChunk?
                do {
                    chunk = try await base.next(isolation: actor)
                } catch {
                    ending?.readerSaw(error)
                    throw error
                }
                switch chunk {
                case nil:
                    ending?.readerSaw(nil)
                    return nil
                case .message(let message)?:
                    return received(message)
                case .batch(let frame)?:
                    batch = frame
                    offset = 0
                    if let message = nextInBatch() { return received(message) }
                }
            }
        }

        /// The next message of the batch frame being read, nil when it is done (or there is
        /// none). A frame is let go with its last message, not held while the next is awaited.
        @usableFromInline
        mutating func nextInBatch() -> [UInt8]? {
            guard offset < batch.count, let (message, next) = StreamBatch.message(in: batch, at: offset) else {
                batch = []
                offset = 0
                return nil
            }
            offset = next
            if offset >= batch.count {
                batch = []
                offset = 0
            }
            return message
        }

        /// Counts `message` as read, for the interceptors watching and for credit (granted
        /// back every `grantEvery`).
        @inlinable
        mutating func received(_ message: [UInt8]) -> [UInt8] {
            ending?.messageReceived()
            read += 1
            if read >= grantEvery {
                grant(read)
                read = 0
            }
            return message
        }
    }
}

extension MeshStream {
    /// A stream that throws `error` at once, having sent nothing.
    init(failedWith error: MeshError) {
        let failed = StreamChunks { $0.finish(throwing: error) }
        self.init(messages: failed, window: 2) { _ in }
    }

    /// Tells the interceptors watching this stream that its reader ends with `error` (a message
    /// it could not decode, say), and returns it.
    func readerFailed(_ error: MeshError) -> MeshError {
        ending?.readerSaw(error)
        return error
    }
}
