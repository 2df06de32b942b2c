import ZeroMQ

/// One call waiting for its reply, kept until it ends so it can be re-sent on failover.
struct PendingCall {
    typealias Continuation = CheckedContinuation<Result<[UInt8], MeshError>, Never>

    let continuation: Continuation
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
}
