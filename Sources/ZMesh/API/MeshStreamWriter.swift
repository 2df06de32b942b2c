/// Sends the messages of a stream, in order: a handler's replies (see
/// ``ServiceHandlers/registerServerStream(_:_:)``), or a caller's requests (see
/// ``MeshClient/clientStream(_:options:requests:)``).
///
/// ``write(_:)`` waits while the reader has not granted credit for more (it reads slower than
/// the writer writes), so a writer never outruns its reader and nothing buffers without
/// bound. A handler's write throws `CancellationError` once the stream is over for the caller
/// (it stopped reading, the deadline passed, or it went away); a caller's throws the call's
/// ``MeshError`` once the call has ended: return then.
public struct MeshStreamWriter: Sendable {
    let send: @Sendable ([UInt8]) async throws -> Void

    /// Sends one message; returns once it is on its way within the reader's credit (a
    /// handler's is queued for the node's loop, which sends queued messages in batches).
    ///
    /// - Throws: `CancellationError` (a handler's) or ``MeshError`` (a caller's) once the
    ///   stream is over.
    public func write(_ payload: [UInt8]) async throws {
        try Task.checkCancellation()
        try await send(payload)
    }

    /// Sends one message encoded by `codec` (JSON by default).
    public func write<Message: Encodable>(_ message: Message, codec: some MeshCodec = JSONMeshCodec()) async throws {
        try await write(try codec.encode(message))
    }
}
