/// A streaming handler's write, waiting for credit.
typealias StreamWriteWaiter = CheckedContinuation<Void, any Error>

/// A service node's server streams: a write within the caller's credit is queued in the
/// stream's ``StreamOutbox`` and returns at once; the loop sends what is queued as partial
/// REPLYs (several messages to a frame for a caller that takes batches). A write without
/// credit waits until a CREDIT comes, and throws once the stream is over (CANCEL, the
/// deadline, the caller gone, the handler done).
extension ServiceCore {
    /// Opens stream `id` to `route` and returns the writer its handler gets.
    func openStream(_ id: RequestID, route: [[UInt8]], credit: Int, batches: Bool) -> MeshStreamWriter {
        let outbox = streams.open(id, route: route, credit: credit, batches: batches)
        let transport = self.transport
        // Weakly: a writer kept past its handler must not keep the node alive.
        let core = WeakServiceCore(self)
        let askFlush: @Sendable () -> Void = {
            transport.execute { core.node?.assumeIsolated { $0.flushStream(id) } }
        }
        let offer: @Sendable ([UInt8]) throws -> Bool = { payload in
            switch outbox.offer(payload) {
            case .queued(let ask):
                if ask { askFlush() }
                return true
            case .stopped: throw CancellationError()
            case .noCredit: return false
            }
        }
        return MeshStreamWriter(offer: offer) { payload in
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: StreamWriteWaiter) in
                    switch outbox.wait(payload, continuation) {
                    case .noCredit: break
                    case .queued(let ask):
                        if ask { askFlush() }
                        continuation.resume()
                    case .stopped: continuation.resume(throwing: CancellationError())
                    }
                }
            } onCancel: {
                transport.execute { core.node?.assumeIsolated { $0.stopStream(id) } }
            }
        }
    }

    /// A CREDIT from the caller of stream `id`, at `route`.
    func grantCredit(_ id: RequestID, _ count: Int, from route: [[UInt8]]) {
        guard let (stream, waiter) = streams.grant(id, count, from: route), let waiter else { return }
        waiter.resume()
        flush(id, stream)
    }

    /// Sends what stream `id`'s writer queued.
    private func flushStream(_ id: RequestID) {
        guard let stream = streams[id] else { return }
        flush(id, stream)
    }

    /// Sends what stream `id`'s writer queued and, if that was a burst, lingers: flushes again
    /// by a timer, so the writer's next messages need no wake-up (``StreamOutbox``).
    private func flush(_ id: RequestID, _ stream: ServerStreams<StreamWriteWaiter>.Stream) {
        let taken = stream.outbox.take()
        send(id, stream, taken.bodies)
        if taken.startLinger { linger(id) }
    }

    private func linger(_ id: RequestID) {
        _ = transport.schedule(after: ServerStreamTuning.linger) { [weak self] in
            self?.assumeIsolated { $0.lingerEnded(id) }
        }
    }

    /// Stream `id`'s linger timer fired: sends what is queued, and lingers on if there was any.
    private func lingerEnded(_ id: RequestID) {
        guard let stream = streams[id] else { return }
        let (bodies, lingerOn) = stream.outbox.takeLingering()
        send(id, stream, bodies)
        if lingerOn { linger(id) }
    }

    /// The stream is over for its writer: a waiting write and any later one throw.
    func stopStream(_ id: RequestID) {
        streams[id]?.outbox.stop()?.resume(throwing: CancellationError())
    }

    /// The handler of stream `id` ended: what it queued goes first; returns whether it sent
    /// any message.
    func closeStream(_ id: RequestID) -> Bool {
        guard let stream = streams.close(id) else { return false }
        send(id, stream, stream.outbox.take().bodies)
        stream.outbox.stop()?.resume(throwing: CancellationError())
        return stream.outbox.sent > 0
    }

    /// Sends `bodies`, taken from stream `id`'s outbox: a partial REPLY per message, or per
    /// batch frame. A caller that is gone stops the stream.
    private func send(_ id: RequestID, _ stream: ServerStreams<StreamWriteWaiter>.Stream, _ bodies: [[UInt8]]) {
        guard !bodies.isEmpty, let router else { return }
        var header = Header(command: .reply, requestID: id)
        header.flags = stream.outbox.batches ? [.partial, .batch] : [.partial]
        let route = stream.route
        for body in bodies {
            let sent = header.withEncoded { bytes in
                router.assumeIsolated(passing: (route, bytes, body)) { router, message in
                    router.transmit(routing: message.0, header: message.1, body: message.2)
                }
            }
            if !sent.accepted {
                stopStream(id)
                return
            }
        }
    }
}

/// A weak reference to a service node's core that closures may share across threads.
final class WeakServiceCore<Transport: MeshTransport>: Sendable {
    weak let node: ServiceCore<Transport>?
    init(_ node: ServiceCore<Transport>) { self.node = node }
}
