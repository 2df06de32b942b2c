/// A streaming handler's write, waiting for credit.
typealias StreamWriteWaiter = CheckedContinuation<Void, any Error>

/// A service node's server streams: each partial REPLY goes out only with the caller's
/// credit; a write without credit waits here until a CREDIT comes, and throws once the
/// stream is over (CANCEL, the deadline, the caller gone, the handler done).
extension ServiceCore {
    /// The writer a streaming handler of request `id` gets.
    nonisolated func streamWriter(for id: RequestID) -> MeshStreamWriter {
        let transport = self.transport
        // Weakly: a writer kept past its handler must not keep the node alive.
        let core = WeakServiceCore(self)
        return MeshStreamWriter { payload in
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: StreamWriteWaiter) in
                    transport.execute {
                        guard let node = core.node else { return continuation.resume(throwing: CancellationError()) }
                        node.assumeIsolated { $0.streamWrite(id, payload, continuation) }
                    }
                }
            } onCancel: {
                transport.execute { core.node?.assumeIsolated { $0.stopStream(id) } }
            }
        }
    }

    private func streamWrite(_ id: RequestID, _ payload: [UInt8], _ continuation: StreamWriteWaiter) {
        switch streams.write(id, payload: payload, continuation: continuation) {
        case .send(let route): send(id, payload, along: route, resuming: continuation)
        case .wait: break
        case .stopped: continuation.resume(throwing: CancellationError())
        }
    }

    /// A CREDIT from the caller of stream `id`, at `route`.
    func grantCredit(_ id: RequestID, _ count: Int, from route: [[UInt8]]) {
        guard let ready = streams.grant(id, count, from: route) else { return }
        send(id, ready.payload, along: ready.route, resuming: ready.continuation)
    }

    /// The stream is over for its writer: a waiting write and any later one throw.
    func stopStream(_ id: RequestID) {
        streams.stop(id)?.resume(throwing: CancellationError())
    }

    /// The handler of stream `id` ended; true if it sent any message.
    func closeStream(_ id: RequestID) -> Bool {
        let (waiter, sentAny) = streams.close(id)
        waiter?.resume(throwing: CancellationError())
        return sentAny
    }

    /// One message of stream `id`: a partial REPLY. A caller that is gone stops the stream.
    private func send(_ id: RequestID, _ payload: [UInt8], along route: [[UInt8]], resuming continuation: StreamWriteWaiter) {
        var header = Header(command: .reply, requestID: id)
        header.flags = [.partial]
        let sent = header.withEncoded { bytes in
            router?.assumeIsolated(passing: bytes) { router, bytes in router.transmit(routing: route, header: bytes, body: payload) }
        }
        if sent?.accepted == true {
            continuation.resume()
        } else {
            _ = streams.stop(id)
            continuation.resume(throwing: CancellationError())
        }
    }
}

/// A weak reference to a service node's core that closures may share across threads.
final class WeakServiceCore<Transport: MeshTransport>: Sendable {
    weak let node: ServiceCore<Transport>?
    init(_ node: ServiceCore<Transport>) { self.node = node }
}
