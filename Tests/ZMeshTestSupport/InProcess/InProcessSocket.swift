package import ZMesh

/// A socket of an ``InProcessNetwork``: ZeroMQ's router, dealer, publisher and subscriber
/// semantics as the mesh relies on them, with copied frames and no threads of its own.
///
/// - A router prefixes what it receives with the sender's routing id, and sends to the peer
///   its first frame names (``SendOutcome/unroutable`` if there is none).
/// - A dealer sends to its connections in turn; with none up, messages wait (as with
///   `ZMQ_IMMEDIATE`) until one is, or until ``discardOutbound()``.
/// - A connection whose listener closes is reported lost, and made again when something binds
///   the endpoint; a connect to an endpoint nobody binds is reported as retrying.
/// - No security: options ask for CURVE in vain, and peers have no names.
package actor InProcessSocket: MeshSocket {
    package typealias Received = InProcessFrames

    private struct Pipe {
        let id: Int32
        let peer: InProcessSocket
        let peerRoutingID: [UInt8]
        let endpoint: String
        let connector: Bool
    }

    package nonisolated let network: InProcessNetwork
    package nonisolated let kind: SocketKind
    package nonisolated var unownedExecutor: UnownedSerialExecutor { network.unownedExecutor }

    let options: SocketOptions
    let identity: [UInt8]
    private var pipes: [Pipe] = []
    private var connects: [String: [UInt8]?] = [:]
    private var bound: [String] = []
    private var outbound: [[[UInt8]]] = []
    private var nextPipe = 0
    private var framesHandler: ((InProcessFrames) -> Void)?
    private var messageHandler: (([[UInt8]]) -> Void)?
    private var eventHandler: ((PeerEvent) -> Void)?
    private(set) var isClosed = false

    init(network: InProcessNetwork, kind: SocketKind, options: SocketOptions, identity: [UInt8]) {
        self.network = network
        self.kind = kind
        self.options = options
        self.identity = options.routingID ?? identity
    }

    // MARK: Set-up

    package func bind(_ endpoint: String) throws {
        try network.assumeIsolated { try $0.bind(self, at: endpoint) }
        bound.append(endpoint)
    }

    package func lastEndpoint() throws -> String {
        guard let last = bound.last else { throw InProcessError("not bound") }
        return last
    }

    package func connect(_ endpoint: String) throws { connect(endpoint, routing: nil) }

    package func connect(_ endpoint: String, peerID: [UInt8]) throws { connect(endpoint, routing: peerID) }

    private func connect(_ endpoint: String, routing peerID: [UInt8]?) {
        guard !isClosed else { return }
        connects[endpoint] = .some(peerID)
        network.assumeIsolated { $0.connect(self, to: endpoint, peerID: peerID) }
    }

    package func disconnect(_ endpoint: String) throws {
        connects[endpoint] = nil
        network.assumeIsolated { $0.stopWaiting(self, for: endpoint) }
        for pipe in pipes where pipe.endpoint == endpoint && pipe.connector {
            detach(pipe.id)
            pipe.peer.assumeIsolated { $0.peerLeft(pipe.id) }
        }
    }

    package func onFrames(_ handler: @escaping (InProcessFrames) -> Void) throws { framesHandler = handler }

    package func onMessage(_ handler: @escaping ([[UInt8]]) -> Void) throws { messageHandler = handler }

    package func onPeerEvent(_ handler: @escaping (PeerEvent) -> Void) throws { eventHandler = handler }

    /// Deliveries are in order with connection events already, so nothing waits to be read.
    package func receivePending() {}

    // MARK: Connections (from the network)

    func attach(id: Int32, peer: InProcessSocket, peerRoutingID: [UInt8], endpoint: String, connector: Bool) {
        pipes.append(Pipe(id: id, peer: peer, peerRoutingID: peerRoutingID, endpoint: endpoint, connector: connector))
        network.assumeIsolated { $0.report(PeerEvent(kind: .connected, endpoint: endpoint, connection: id, detail: "connected"), to: self) }
        if kind == .dealer, !outbound.isEmpty {
            let waiting = outbound
            outbound.removeAll()
            for frames in waiting { _ = transmit(frames) }
        }
    }

    /// The peer of connection `id` closed or disconnected it.
    func peerLeft(_ id: Int32) {
        guard let pipe = pipes.first(where: { $0.id == id }) else { return }
        detach(id)
        let reconnect = pipe.connector ? connects[pipe.endpoint] : nil
        network.assumeIsolated { network in
            network.report(PeerEvent(kind: .disconnected, endpoint: pipe.endpoint, connection: id, detail: "disconnected"), to: self)
            if let peerID = reconnect { network.reconnectLater(self, to: pipe.endpoint, peerID: peerID) }
        }
    }

    private func detach(_ id: Int32) { pipes.removeAll { $0.id == id } }

    func receive(_ frames: InProcessFrames) {
        guard !isClosed, pipes.contains(where: { $0.id == frames.connectionID }) else { return }
        if let framesHandler {
            framesHandler(frames)
        } else {
            messageHandler?(frames.frames)
        }
    }

    func peerEvent(_ event: PeerEvent) {
        guard !isClosed else { return }
        eventHandler?(event)
    }

    // MARK: Sending

    package func transmit(routing: [[UInt8]], header: UnsafeRawBufferPointer, body: [UInt8]) -> SendOutcome {
        transmit(routing + [[], [UInt8](header), body])
    }

    package func transmit(routing: [[UInt8]], header: UnsafeRawBufferPointer, bodyBytes: UnsafeRawBufferPointer) -> SendOutcome {
        transmit(routing + [[], [UInt8](header), [UInt8](bodyBytes)])
    }

    /// Never called: this transport sends every message at once.
    package func onLateSendFailure(_ handler: @escaping (SendOutcome) -> Void) {}

    package func transmit(_ frames: [[UInt8]]) -> SendOutcome {
        guard !isClosed else { return .dropped }
        switch kind {
        case .router:
            guard let first = frames.first, let pipe = pipes.first(where: { $0.peerRoutingID == first }) else {
                return .unroutable
            }
            send(Array(frames.dropFirst()), on: pipe)
            return .sent
        case .dealer:
            guard !pipes.isEmpty else {
                outbound.append(frames)
                return .queued
            }
            nextPipe = (nextPipe + 1) % pipes.count
            send(frames, on: pipes[nextPipe])
            return .sent
        case .publisher:
            for pipe in pipes {
                let prefix = pipe.peer.options.subscription ?? []
                if frames.first?.starts(with: prefix) ?? prefix.isEmpty { send(frames, on: pipe) }
            }
            return .sent
        case .subscriber:
            return .dropped
        }
    }

    private func send(_ frames: [[UInt8]], on pipe: Pipe) {
        // A router learns who sent a message: its routing id comes first.
        let delivered = pipe.peer.kind == .router ? [identityTowards(pipe)] + frames : frames
        let message = InProcessFrames(frames: delivered, connectionID: pipe.id)
        network.assumeIsolated { $0.deliver(message, to: pipe.peer) }
    }

    /// How the peer at the other end of `pipe` addresses this socket.
    private func identityTowards(_ pipe: Pipe) -> [UInt8] {
        pipe.peer.assumeIsolated { peer in peer.routingID(of: pipe.id) } ?? identity
    }

    private func routingID(of pipe: Int32) -> [UInt8]? { pipes.first { $0.id == pipe }?.peerRoutingID }

    package func sendOrDrop(_ frames: [[UInt8]]) -> Bool {
        guard kind != .dealer || !pipes.isEmpty else { return false }
        return transmit(frames) == .sent
    }

    @discardableResult
    package func discardOutbound() -> Int {
        defer { outbound.removeAll() }
        return outbound.count
    }

    // MARK: Closing

    package func close() {
        guard !isClosed else { return }
        isClosed = true
        outbound.removeAll()
        let gone = pipes
        pipes.removeAll()
        let endpoints = bound
        network.assumeIsolated { network in
            for endpoint in endpoints { network.unbind(self, from: endpoint) }
            network.forget(self)
        }
        for pipe in gone { pipe.peer.assumeIsolated { $0.peerLeft(pipe.id) } }
    }

    package func close(lingering linger: Duration) { close() }
}
