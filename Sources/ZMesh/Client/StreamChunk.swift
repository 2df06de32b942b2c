/// What the sequence under a ``MeshStream`` carries: one message, or a whole batch frame of
/// them (``StreamBatch``, checked when it arrived), which the reader takes apart one message at
/// a time. One element per frame, not per message: each element costs a lock, a look-up of the
/// sequence's generic metadata and often a task switch.
@usableFromInline
enum StreamChunk: Sendable {
    case message([UInt8])
    case batch([UInt8])
}

/// The sequence of a stream's chunks, and its producer's end.
@usableFromInline
typealias StreamChunks = AsyncThrowingStream<StreamChunk, any Error>
