import ZeroMQ
@testable import ZMesh

/// A bare DEALER for tests that must send exactly the frames they choose (garbage included).
struct RawPeer {
    let loop: EventLoop
    let socket: ZMQSocketActor

    /// - Parameter routingID: the name the peer's ROUTER gives this connection (a registry takes
    ///   announcements only of the instance a connection is named after).
    static func connect(to endpoint: String, routingID: String? = nil) async throws -> RawPeer {
        let loop = try EventLoop(name: "raw-peer")
        // A linger, so what the test sent still leaves when it closes the peer right after.
        var options: [ZMQSocketOption] = [.linger(milliseconds: 2_000)]
        if let routingID { options.append(.routingID(Array(routingID.utf8))) }
        let socket = try await ZMQSocketActor.make(on: loop, type: .dealer, options: options)
        try await socket.connect(endpoint)
        return RawPeer(loop: loop, socket: socket)
    }

    func send(_ frames: [[UInt8]]) async throws {
        try await socket.send(frames)
    }

    func request(_ name: String, _ payload: [UInt8], sequence: UInt64, budget: UInt32 = Header.noBudget, client: UInt64 = 42) async throws {
        var header = Header(command: .request, requestID: RequestID(client: client, sequence: sequence), name: name)
        header.budgetMilliseconds = budget
        header.flags = [.idempotent]
        try await send([[], header.encoded(), payload])
    }

    /// The next message, decoded as a reply or error envelope.
    func next(timeout: Duration = .seconds(5)) async throws -> Envelope? {
        guard let frames = try await nextFrames(timeout: timeout) else { return nil }
        return try Envelope.decode(frames, routed: false)
    }

    /// The next message's frames as they are, or nil if none comes within `timeout`.
    func nextFrames(timeout: Duration) async throws -> [[UInt8]]? {
        let socket = self.socket
        return try await withThrowingTaskGroup(of: [[UInt8]]?.self) { group in
            group.addTask { try await socket.receive() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    func close() async {
        await loop.shutdown()
    }
}
