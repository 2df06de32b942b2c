import ZeroMQ

/// libzmq sockets as the mesh's sockets: most requirements are the actor's own methods; sends
/// report a ``SendOutcome``, monitor events become ``PeerEvent``s.
extension ZMQSocketActor: MeshSocket {
    package func connect(_ endpoint: String, peerID: [UInt8]) throws {
        try set(.connectRoutingID(peerID))
        try connect(endpoint)
    }

    package func onPeerEvent(_ handler: @escaping (PeerEvent) -> Void) throws {
        try monitor(ZMQMonitorEvents.connectionLifecycle.union(.connectRetried)) { event in
            if let peerEvent = PeerEvent(event) { handler(peerEvent) }
        }
    }

    @inline(__always)
    package func transmit(routing: [[UInt8]], header: UnsafeRawBufferPointer, body: [UInt8]) -> SendOutcome {
        SendOutcome(try? sendEnvelope(routing: routing, header: header, body: body))
    }

    @inline(__always)
    package func transmit(routing: [[UInt8]], header: UnsafeRawBufferPointer, bodyBytes: UnsafeRawBufferPointer) -> SendOutcome {
        SendOutcome(try? sendEnvelope(routing: routing, header: header, bodyBytes: bodyBytes))
    }

    package func transmit(_ frames: [[UInt8]]) -> SendOutcome {
        SendOutcome(try? send(frames))
    }

    package func onLateSendFailure(_ handler: @escaping (SendOutcome) -> Void) {
        onLateSendFailure { (result: SendResult) in handler(SendOutcome(result)) }
    }
}

extension SendOutcome {
    /// libzmq's result; nil (the socket failed or closed) is a drop.
    @inline(__always)
    init(_ result: ZMQSocketActor.SendResult?) {
        switch result {
        case .sent: self = .sent
        case .queued: self = .queued
        case .unroutable: self = .unroutable
        case .dropped, nil: self = .dropped
        }
    }
}

extension PeerEvent {
    /// The mesh's view of a libzmq monitor event; nil for events it does not use.
    init?(_ event: ZMQMonitorEvent) {
        let kind: Kind
        switch event.event {
        case .handshakeSucceeded: kind = .connected
        case .disconnected, .closed: kind = .disconnected
        case .connectRetried: kind = .retrying
        case .handshakeFailedAuth: kind = .refused(keyNotAllowed: true)
        case .handshakeFailedProtocol, .handshakeFailedNoDetail: kind = .refused(keyNotAllowed: false)
        default: return nil
        }
        let connection = kind == .disconnected ? Int32(bitPattern: event.value) : nil
        self.init(kind: kind, endpoint: event.endpoint, connection: connection, detail: "\(event.event)")
    }
}
