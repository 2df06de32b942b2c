/// Sends the messages of a server stream, in order (see
/// ``ServiceHandlers/registerServerStream(_:_:)``).
///
/// ``write(_:)`` waits while the caller has not granted credit for more (it reads slower than
/// the handler writes), so a handler never outruns its reader and nothing buffers without
/// bound. It throws `CancellationError` once the stream is over for the caller (it stopped
/// reading, the deadline passed, or it went away): return then.
public struct MeshStreamWriter: Sendable {
    let send: @Sendable ([UInt8]) async throws -> Void

    /// Sends one message; returns once it is handed to the socket.
    ///
    /// - Throws: `CancellationError` if the caller is gone or stopped the stream.
    public func write(_ payload: [UInt8]) async throws {
        try Task.checkCancellation()
        try await send(payload)
    }

    /// Sends one message encoded by `codec` (JSON by default).
    public func write<Message: Encodable>(_ message: Message, codec: some MeshCodec = JSONMeshCodec()) async throws {
        try await write(try codec.encode(message))
    }
}
