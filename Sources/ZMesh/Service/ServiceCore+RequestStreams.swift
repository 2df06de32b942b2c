/// The handler's side of a request stream (``RequestStreams``).
typealias RequestStreamSink = StreamChunks.Continuation

/// A service node's request streams (client and bidirectional streams, docs/PROTOCOL.md
/// "Streams"): the caller sends PARTs only with this node's credit, granted when the handler
/// starts and again as it reads, so a handler that reads slowly never makes the node buffer
/// more than its window of a caller's messages.
extension ServiceCore {
    /// Messages a caller may send before the handler has read any; credit comes back in
    /// halves of it as the handler reads.
    static var requestWindow: Int { 64 }

    /// Opens the request stream of a starting handler: the sequence it reads, fed by PARTs
    /// from `route`, and the first CREDIT to the caller.
    func openRequestStream(_ id: RequestID, route: [[UInt8]]) -> MeshStream {
        let (messages, sink) = StreamChunks.makeStream()
        requestStreams.open(id, route: route, sink: sink, credit: Self.requestWindow)
        sendCredit(id, Self.requestWindow, to: route)
        let transport = self.transport
        let core = WeakServiceCore(self)
        return MeshStream(messages: messages, window: Self.requestWindow) { count in
            transport.execute { core.node?.assumeIsolated { $0.grantRequests(id, count) } }
        }
    }

    /// A PART from `route`: a message for stream `id`'s handler, or the end of its requests.
    func receivePart(_ header: Header, payload: [UInt8], from route: [[UInt8]]) {
        let isLast = !header.flags.contains(.partial)
        let (action, sink) = requestStreams.part(header.requestID, from: route, isMessage: !isLast || !payload.isEmpty, isLast: isLast)
        switch action {
        case .deliver(let last):
            sink?.yield(.message(payload))
            if last { sink?.finish() }
        case .end:
            sink?.finish()
        case .overrun:
            requestStreamStats.streamOverruns += 1
            sink?.finish(throwing: MeshError(.protocolError, service: header.name,
                                             message: "the caller sent more stream messages than it was granted"))
        case .unknown:
            requestStreamStats.streamPartsDropped += 1
        }
    }

    /// The handler of stream `id` read `count` more of its requests.
    private func grantRequests(_ id: RequestID, _ count: Int) {
        guard let route = requestStreams.grant(id, count) else { return }
        sendCredit(id, count, to: route)
    }

    /// The request stream of `id` is over for its handler (it ended, or was cancelled).
    func closeRequestStream(_ id: RequestID, cancelled: Bool) {
        guard let sink = requestStreams.close(id) else { return }
        if cancelled { sink.finish(throwing: CancellationError()) } else { sink.finish() }
    }

    private func sendCredit(_ id: RequestID, _ count: Int, to route: [[UInt8]]) {
        var header = Header(command: .credit, requestID: id)
        header.status = UInt16(clamping: count)
        _ = header.withEncoded { bytes in
            router?.assumeIsolated(passing: (route, bytes)) { router, message in router.transmit(routing: message.0, header: message.1, body: []) }
        }
    }
}
