import MeshClock

/// What a caller asks for; crosses once from the caller's task to the client's loop.
struct CallRequest: Sendable {
    /// Unchecked: `ClientCore` resumes each call exactly once, when it takes the call out of
    /// its pending table (`complete`) or refuses it before it gets there (`finish` in `start`),
    /// and tests check every call ends; the checked kind costs an allocation per call.
    typealias Continuation = UnsafeContinuation<Result<MeshReply, MeshError>, Never>

    /// Who hears how the call ended.
    enum Completion: Sendable {
        /// A caller of `MeshClient.call`, suspended on this continuation.
        case caller(Continuation)
        /// The client itself, on the loop thread.
        case client(@Sendable (Result<MeshReply, MeshError>) -> Void)
        /// A caller of `MeshClient.stream`: each message as it comes, then the end or the error.
        case stream(StreamChunks.Continuation)
    }

    let completion: Completion
    let name: String
    /// The part of `name` before the first dot: what the registry and brokers route by; filled
    /// in on the loop (where the last name's answer is remembered).
    var service: String
    let payload: [UInt8]
    let deadline: MonotonicTime
    let timeout: Duration
    let idempotent: Bool
    let maxAttempts: Int
    /// Sent on every try; checked against the limits before the call got here.
    let metadata: Metadata
    /// A stream's initial credit: the messages its sender may send before the caller grants more.
    var streamWindow: Int { if case .stream = completion { window } else { 0 } }
    private var window = 0
    /// A client or bidirectional stream: the request's messages follow as PARTs, each sent
    /// with the service's credit (``MeshClient/clientStream(_:options:requests:)``).
    var sendsRequests = false
    /// Told the endpoint of each instance the call is sent to (a watched stream's end reports
    /// the last one as `server.address`); nil for calls nobody watches that way.
    var sentTo: (@Sendable (String) -> Void)?

    /// - Parameter now: when the call starts: its deadline is `now + timeout`.
    init(completion: Completion, name: String, service: String = "", payload: [UInt8], timeout: Duration,
         idempotent: Bool, maxAttempts: Int, metadata: Metadata = Metadata(), now: MonotonicTime) {
        self.completion = completion
        self.name = name
        self.service = service
        self.payload = payload
        self.deadline = now.advanced(by: timeout)
        self.timeout = timeout
        self.idempotent = idempotent
        self.maxAttempts = maxAttempts
        self.metadata = metadata
    }

    /// A stream's request: `completion` hears each message; `window` is its initial credit.
    init(stream continuation: StreamChunks.Continuation, window: Int, name: String, payload: [UInt8],
         timeout: Duration, idempotent: Bool, maxAttempts: Int, metadata: Metadata, now: MonotonicTime) {
        self.init(completion: .stream(continuation), name: name, payload: payload, timeout: timeout, idempotent: idempotent,
                  maxAttempts: maxAttempts, metadata: metadata, now: now)
        self.window = window
    }
}

/// A caller's write of a request message, waiting to be sent.
typealias RequestWriteWaiter = CheckedContinuation<Void, any Error>

/// One call in flight, kept until it ends so it can be re-sent on failover. A class, so the
/// client's table updates it in place; it never leaves the client's loop thread.
final class PendingCall {
    let request: CallRequest
    /// Tries sent so far (the next try's attempt number).
    var attempts = 0
    /// The connection the latest try went out on; nil while waiting for a route.
    var connection: ConnectionID?
    /// Connections that failed this call, avoided on retry while others are up.
    var failedOn: [ConnectionID] = []
    /// Why the latest try failed, for the final error if every try fails.
    var lastError: String?
    /// Waiting for a connection to come up or a name to resolve.
    var parked = false
    /// Asked the registries once more before failing as unreachable.
    var refreshedBeforeFailing = false
    /// A stream's messages delivered so far: once one is, the stream is never re-sent.
    var delivered = 0
    /// A request stream's messages the service has granted and the caller not yet sent
    /// (from the instance the latest try went to).
    var sendCredit = 0
    /// A request stream's messages sent so far: once one is, the stream is never re-sent.
    var sentParts = 0
    /// The caller's write waiting for credit.
    var waitingWrite: (payload: [UInt8], continuation: RequestWriteWaiter)?
    /// A request stream's caller has sent its last message.
    var requestsEnded = false
    /// The instance of the latest try has granted credit: it has started the stream's handler.
    var granted = false
    /// The end of the requests has gone to the instance of the latest try.
    var endSent = false

    /// The part of the name before the first dot (``CallRequest/service``), filled in by the
    /// table if the request came without it.
    var service: String

    init(_ request: consuming CallRequest) {
        service = request.service
        self.request = request
    }

    var name: String { request.name }
    var payload: [UInt8] { request.payload }
    var deadline: MonotonicTime { request.deadline }
    var timeout: Duration { request.timeout }
    var idempotent: Bool { request.idempotent }
    var maxAttempts: Int { request.maxAttempts }
    var completion: CallRequest.Completion { request.completion }
}
