/// Receiving: pushed to a handler, or one message at a time, by `await`, and as an
/// `AsyncSequence` (for sockets without a message handler: tests, and peers that take one
/// answer at a time).
extension ZMQSocketActor {
    /// Delivers every message to `handler` on the loop thread, as soon as it arrives.
    ///
    /// The handler runs on this actor's executor and must not block: hand slow work to a task.
    /// Messages already buffered for ``receive()`` are delivered first.
    public func onMessage(_ handler: @escaping ([[UInt8]]) -> Void) throws {
        self.handler = handler
        while let frames = buffered.popFirst() { handler(frames) }
        readPaused = false
        try ensureRegistered()
        updateInterest()
    }

    /// Delivers every message to `handler` on the loop thread as a borrowed view of libzmq's
    /// buffers: no copies but those the handler makes. The fastest way to receive; the view
    /// is valid only during the call.
    public func onFrames(_ handler: @escaping (ZMQReceivedFrames) -> Void) throws {
        framesHandler = handler
        readPaused = false
        try ensureRegistered()
        updateInterest()
    }

    /// The next message, or nil once the socket is closed. Cancellation throws `CancellationError`.
    public func receive() async throws -> [[UInt8]]? {
        if let frames = buffered.popFirst() {
            if readPaused && buffered.count < inboundBufferLimit / 2 {
                readPaused = false
                updateInterest()
            }
            return frames
        }
        if closed { return nil }
        try ensureRegistered()
        let id = nextWaiterID
        nextWaiterID += 1
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                    return
                }
                waiters[id] = continuation
                waiterOrder.append(id)
            }
        } onCancel: {
            loop.execute { [weak self] in
                self?.assumeIsolated { $0.cancelWaiter(id) }
            }
        }
    }

    private func cancelWaiter(_ id: UInt64) {
        waiters.removeValue(forKey: id)?.resume(throwing: CancellationError())
    }

    /// Every message as an asynchronous sequence; it ends when the socket closes.
    public nonisolated var messages: Messages { Messages(socket: self) }

    /// The messages of a ``ZMQSocketActor`` as an `AsyncSequence`.
    public struct Messages: AsyncSequence, Sendable {
        public typealias Element = [[UInt8]]
        let socket: ZMQSocketActor

        public struct AsyncIterator: AsyncIteratorProtocol {
            let socket: ZMQSocketActor
            public mutating func next() async -> [[UInt8]]? {
                try? await socket.receive()
            }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(socket: socket) }
    }
}
