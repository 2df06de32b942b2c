/// Client interceptors around streams: what an interceptor sees of a stream's start
/// (``ClientStreamStart``) and of its end (``ClientStreamOutcome``).
extension ClientInterceptor {
    /// Leaves the stream as it is: an interceptor written for calls only does nothing for streams.
    public func interceptStream(_ stream: inout ClientStreamStart, context: ClientCallContext) throws(MeshError) {}
}

/// The start of a stream as a ``ClientInterceptor`` sees it, in
/// ``ClientInterceptor/interceptStream(_:context:)``: the metadata it will carry, and what is
/// to run when it ends.
public struct ClientStreamStart: Sendable {
    /// The stream's metadata: ``CallOptions/metadata``, then what the interceptors before this
    /// one set. What the last interceptor leaves here is sent (within ``MetadataLimits``).
    public var metadata: Metadata
    /// What runs when the stream ends, in the order registered.
    var endHandlers: [@Sendable (ClientStreamOutcome) -> Void] = []

    init(metadata: Metadata) {
        self.metadata = metadata
    }

    /// Registers `handler` to run once when the stream ends, however it ends: with ok, its
    /// ``MeshError``, the caller's own error, or cancellation (the caller stopped reading, or
    /// its task was cancelled). An interceptor that refuses the stream after registering it
    /// gets its own error.
    ///
    /// Handlers run in the reverse order of registration, so the first interceptor's runs
    /// last, as it sees a call's reply last. A server stream ends when its caller reads its
    /// end (or stops reading); a client or bidirectional stream when its method returns or
    /// throws. A handler runs on whatever thread ends the stream: keep it short, and do not
    /// block.
    public mutating func onEnd(_ handler: @escaping @Sendable (ClientStreamOutcome) -> Void) {
        endHandlers.append(handler)
    }
}

/// How a stream ended, as ``ClientStreamStart/onEnd(_:)`` tells an interceptor.
public struct ClientStreamOutcome: Sendable {
    /// What the stream ended with, nil if it ended ok: the ``MeshError`` the caller got, or
    /// the caller's own error (its writer's or its reader's). A caller that stopped reading a
    /// stream before its end gets ``MeshError/Code/cancelled``.
    public let error: (any Error)?
    /// Messages the caller wrote (client and bidirectional streams).
    public let messagesSent: Int
    /// Messages of the reply stream the caller read (server and bidirectional streams).
    public let messagesReceived: Int
    /// The endpoint of the instance (or broker) the stream was last sent to; nil if it never
    /// left the client (refused by an interceptor, no instance known).
    public let serverAddress: String?

    /// An outcome ending with `error` (nil: ok) after `messagesSent` and `messagesReceived`
    /// messages, the stream last sent to `serverAddress`.
    public init(error: (any Error)?, messagesSent: Int = 0, messagesReceived: Int = 0, serverAddress: String? = nil) {
        self.error = error
        self.messagesSent = messagesSent
        self.messagesReceived = messagesReceived
        self.serverAddress = serverAddress
    }

    /// ``error`` if it is a ``MeshError``.
    public var meshError: MeshError? { error as? MeshError }

    /// The outcome in a word, as calls name theirs in metrics and spans: `ok`, a
    /// ``MeshError/Code`` name, or `cancelled` for an error of the caller's own (the stream
    /// was cancelled for it).
    public var code: String {
        guard let error else { return "ok" }
        return (error as? MeshError)?.code.rawValue ?? MeshError.Code.cancelled.rawValue
    }
}
