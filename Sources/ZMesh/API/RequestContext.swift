public import Logging

/// What a handler knows about the request it serves.
public struct RequestContext: Sendable {
    /// The called name, such as `kv.get`.
    public let name: String
    /// The call's id: the same on every retry of the call.
    public let requestID: RequestID
    /// 0 for the first try, then 1, 2... for retries after an instance failed.
    public let attempt: Int
    /// When the caller stops waiting, on this node's monotonic clock; nil if never.
    public let deadline: ContinuousClock.Instant?
    /// The caller's trace id, if it sent one.
    public let traceID: [UInt8]?
    /// A logger with `zmesh.request_id` and `zmesh.service` metadata.
    public let logger: Logger

    /// Time left before the caller stops waiting; nil if no deadline.
    public var timeRemaining: Duration? {
        deadline.map { ContinuousClock.now.duration(to: $0) }
    }
}
