import ZeroMQ

/// One call waiting for its reply, kept until it ends so it can be re-sent on failover.
struct PendingCall: Sendable {
    typealias Continuation = CheckedContinuation<Result<[UInt8], MeshError>, Never>

    /// Who hears how the call ended.
    enum Completion: Sendable {
        /// A caller of `MeshClient.call`, suspended on this continuation.
        case caller(Continuation)
        /// The client itself (a registry look-up); runs on the loop thread.
        case client(@Sendable (Result<[UInt8], MeshError>) -> Void)
    }

    let completion: Completion
    let name: String
    /// The part of `name` before the first dot: what the registry and brokers route by.
    let service: String
    let payload: [UInt8]
    let deadline: MonotonicTime
    let timeout: Duration
    let idempotent: Bool
    let maxAttempts: Int
    let traceID: [UInt8]?
    /// Tries sent so far (the next try's attempt number).
    var attempts: Int = 0
    /// The connection the latest try went out on; nil while waiting for a route.
    var connection: ConnectionID?
    /// Connections that failed this call, avoided on retry while others are up.
    var failedOn: [ConnectionID] = []
    /// Why the latest try failed, for the final error if every try fails.
    var lastError: String?

    init(completion: Completion, name: String, service: String, payload: [UInt8], timeout: Duration,
         idempotent: Bool, maxAttempts: Int, traceID: [UInt8]?) {
        self.completion = completion
        self.name = name
        self.service = service
        self.payload = payload
        self.deadline = MonotonicTime.now().advanced(by: timeout)
        self.timeout = timeout
        self.idempotent = idempotent
        self.maxAttempts = maxAttempts
        self.traceID = traceID
    }
}
