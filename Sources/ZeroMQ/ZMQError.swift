internal import CZeroMQ
#if canImport(Glibc)
import Glibc
#endif

/// An error reported by libzmq, with the `errno` it set and libzmq's own text for it.
///
/// `operation` names the call that failed (`"bind"`, `"connect"`, `"setsockopt"`, ...) and
/// `detail` the thing it was applied to (an endpoint, an option name), so a message like
/// `bind tcp://127.0.0.1:99999: Invalid argument` says what to fix.
public struct ZMQError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The `errno` value libzmq reported.
    public let code: Int32
    /// `zmq_strerror(code)`.
    public let message: String
    /// The libzmq call that failed.
    public let operation: String
    /// What the call was applied to, such as an endpoint; empty when nothing applies.
    public let detail: String

    /// Creates an error from an explicit errno value.
    public init(code: Int32, operation: String, detail: String = "") {
        self.code = code
        self.message = String(cString: zmq_strerror(code))
        self.operation = operation
        self.detail = detail
    }

    /// Captures the calling thread's current `zmq_errno()`.
    static func last(_ operation: String, _ detail: String = "") -> ZMQError {
        ZMQError(code: zmq_errno(), operation: operation, detail: detail)
    }

    public var description: String {
        detail.isEmpty ? "\(operation): \(message)" : "\(operation) \(detail): \(message)"
    }

    /// True when the call would have blocked (`EAGAIN`).
    public var wouldBlock: Bool { code == EAGAIN }
    /// True when a ROUTER had no route to the addressed peer (`EHOSTUNREACH`).
    public var hostUnreachable: Bool { code == EHOSTUNREACH }
    /// True when the context was terminated (`ETERM`).
    public var contextTerminated: Bool { code == ETERM }
}
