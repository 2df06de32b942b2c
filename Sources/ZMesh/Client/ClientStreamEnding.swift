import Synchronization

/// The end of one stream that client interceptors watch: runs the end handlers they
/// registered (``ClientStreamStart/onEnd(_:)``) exactly once, with how the stream ended and how
/// many messages went each way. Made only when an interceptor registered a handler, so a
/// stream nobody watches pays nothing for it.
///
/// Who ends it depends on the kind: a server stream ends when its reader sees the end (or
/// stops reading: the reply stream's termination, or this object going away unread); a client
/// or bidirectional stream when its method returns or throws (``callReturned(_:)``), which
/// for a bidirectional one takes what its reply stream's reader saw.
@usableFromInline
final class ClientStreamEnding: Sendable {
    private struct State {
        /// In the order they run (the reverse of registration); empty once the stream ended.
        var handlers: [@Sendable (ClientStreamOutcome) -> Void]
        var ended = false
        /// What the reader of the reply stream saw end it (nil: the end itself), once it did.
        var readerSaw: (any Error)?? = nil
    }

    let name: String
    let kind: MethodKind
    private let state: Mutex<State>
    private let sent = Atomic<Int>(0)
    private let received = Atomic<Int>(0)
    /// The endpoint of the instance the stream was last sent to.
    private let instance = Mutex<String?>(nil)

    /// The end of a stream of `kind` calling `name`, running `handlers` (in registration order).
    init(name: String, kind: MethodKind, handlers: [@Sendable (ClientStreamOutcome) -> Void]) {
        self.name = name
        self.kind = kind
        state = Mutex(State(handlers: handlers.reversed()))
    }

    /// The stream's request was sent to the instance at `endpoint` (again, after a failover).
    func reached(_ endpoint: String) { instance.withLock { $0 = endpoint } }

    /// The caller wrote a message.
    func messageSent() { sent.add(1, ordering: .relaxed) }

    /// The caller read a message of the reply stream.
    @usableFromInline
    func messageReceived() { received.add(1, ordering: .relaxed) }

    /// The reply stream's reader saw its end (nil), its error, or stopped reading: a server
    /// stream ends with that; a bidirectional one keeps it for ``callReturned(_:)``. Only the
    /// first counts.
    func readerSaw(_ error: (any Error)?) {
        if kind == .serverStreaming { return end(error) }
        state.withLock { state in
            if state.readerSaw == nil { state.readerSaw = .some(error) }
        }
    }

    /// The reply stream's reader stopped before its end: it left its loop, or its task was
    /// cancelled.
    func readerStopped() {
        readerSaw(stoppedReading)
    }

    /// A client or bidirectional stream's method returned (nil) or threw `error`: the stream
    /// ends with that error; if it returned, a bidirectional stream ends as its reader saw
    /// the replies end, or as cancelled if the reader stopped before.
    func callReturned(_ error: (any Error)?) {
        guard error == nil, kind == .bidirectionalStreaming else { return end(error) }
        let saw = state.withLock { $0.readerSaw }
        switch saw {
        case .some(let error): end(error)
        case .none: end(stoppedReading)
        }
    }

    /// Ends the stream with `error` (nil: ok), if it has not ended.
    func end(_ error: (any Error)?) {
        let handlers = state.withLock { state -> [@Sendable (ClientStreamOutcome) -> Void] in
            guard !state.ended else { return [] }
            state.ended = true
            defer { state.handlers = [] }
            return state.handlers
        }
        guard !handlers.isEmpty else { return }
        let outcome = ClientStreamOutcome(error: error, messagesSent: sent.load(ordering: .relaxed),
                                          messagesReceived: received.load(ordering: .relaxed),
                                          serverAddress: instance.withLock { $0 })
        for handler in handlers { handler(outcome) }
    }

    private var stoppedReading: MeshError {
        MeshError(.cancelled, service: name, message: "the caller stopped reading the stream before its end", mayHaveRun: true)
    }

    /// A server stream dropped before its reader saw the end (it stopped after the last
    /// message arrived, say) ends here, as cancelled.
    deinit {
        end(stoppedReading)
    }
}
