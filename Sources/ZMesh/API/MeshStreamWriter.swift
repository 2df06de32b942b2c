/// Sends the messages of a stream, in order: a handler's replies (see
/// ``ServiceHandlers/registerServerStream(_:_:)``), or a caller's requests (see
/// ``MeshClient/clientStream(_:options:requests:)->MeshReply``).
///
/// ``write(_:)`` waits while the reader has not granted credit for more (it reads slower than
/// the writer writes), so a writer never outruns its reader and nothing buffers without
/// bound. A handler's write throws `CancellationError` once the stream is over for the caller
/// (it stopped reading, the deadline passed, or it went away); a caller's throws the call's
/// ``MeshError`` once the call has ended: return then.
public struct MeshStreamWriter: Sendable {
    /// Sends without waiting where it can: true when the message is on its way, false when
    /// it must wait for credit (then ``send`` does). Nil: every write goes through `send`.
    /// Inlined into the writer's loop with ``write(_:)``, so a write within credit makes no
    /// asynchronous call.
    @usableFromInline let offer: (@Sendable ([UInt8]) throws -> Bool)?
    /// Sends, waiting for credit if need be.
    @usableFromInline let send: @Sendable ([UInt8]) async throws -> Void

    init(offer: (@Sendable ([UInt8]) throws -> Bool)? = nil, send: @escaping @Sendable ([UInt8]) async throws -> Void) {
        self.offer = offer
        self.send = send
    }

    /// Sends one message; returns once it is on its way within the reader's credit (a
    /// handler's is queued for the node's loop, which sends queued messages in batches).
    ///
    /// - Throws: `CancellationError` (a handler's) or ``MeshError`` (a caller's) once the
    ///   stream is over.
    @inlinable
    public func write(_ payload: [UInt8]) async throws {
        try Task.checkCancellation()
        if let offer, try offer(payload) { return }
        try await send(payload)
    }

    /// Sends one message encoded by `codec` (JSON by default).
    public func write<Message: Encodable>(_ message: Message, codec: some MeshCodec = JSONMeshCodec()) async throws {
        try await write(try codec.encode(message))
    }
}
