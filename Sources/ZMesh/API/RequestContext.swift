public import Logging
import MeshClock

/// What a handler knows about the request it serves.
public struct RequestContext: Sendable {
    /// The called name, such as `kv.get`.
    public let name: String
    /// The call's id: the same on every retry of the call.
    public let requestID: RequestID
    /// 0 for the first try, then 1, 2... for retries after an instance failed.
    public let attempt: Int
    /// The registered name of the handler that serves it: `kv.get`, or `kv` when only the
    /// service's handler is registered. Always a name the node hosts, so it is safe as a
    /// metric label (``name`` is whatever the caller chose).
    public internal(set) var method: String
    /// The request's metadata, as the caller sent it and server interceptors left it.
    public internal(set) var metadata: Metadata
    /// For a request that takes a stream: where its messages go. Nil for a call.
    var streamWriter: MeshStreamWriter?
    /// For a client or bidirectional stream: the caller's messages. Nil otherwise.
    var requestStream: MeshStream?
    private let deadlineTime: MonotonicTime?
    private let baseLogger: Logger

    init(name: String, method: String, requestID: RequestID, attempt: Int, deadline: MonotonicTime?,
         metadata: Metadata, logger: Logger) {
        self.name = name
        self.method = method
        self.requestID = requestID
        self.attempt = attempt
        self.deadlineTime = deadline
        self.metadata = metadata
        self.baseLogger = logger
    }

    /// A logger with `zmesh.request_id` and `zmesh.service` metadata, and `trace_id` when the
    /// caller sent a W3C `traceparent` (built when first asked for, so handlers that do not log
    /// pay nothing).
    public var logger: Logger {
        var logger = baseLogger
        logger[metadataKey: "zmesh.request_id"] = "\(requestID)"
        logger[metadataKey: "zmesh.service"] = "\(name)"
        if let value = metadata[TraceParent.key], let parent = TraceParent(value) {
            logger[metadataKey: "trace_id"] = "\(parent.traceID)"
        }
        return logger
    }

    /// When the caller stops waiting, on this node's clock; nil if never.
    public var deadline: ContinuousClock.Instant? {
        deadlineTime.map { ContinuousClock.now.advanced(by: .nanoseconds(Int64(clamping: MonotonicTime.now().nanoseconds(until: $0)))) }
    }

    /// Time left before the caller stops waiting; nil if no deadline.
    public var timeRemaining: Duration? {
        deadlineTime.map { .nanoseconds(Int64(clamping: MonotonicTime.now().nanoseconds(until: $0))) }
    }
}
