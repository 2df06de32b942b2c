/// Why a request to etcd failed, naming the endpoint asked, in words an operator can act on.
public struct EtcdError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: Sendable, Equatable {
        /// No endpoint could be reached (connection refused, no route, timed out).
        case unreachable
        /// An endpoint answered with an error (an HTTP status other than 200, or a gRPC error
        /// in the body).
        case refused
        /// An endpoint answered with something that is not etcd's v3 JSON.
        case badAnswer
        /// The lease is gone (expired or revoked): its keys are deleted.
        case leaseExpired
    }

    /// What went wrong.
    public let kind: Kind
    /// The endpoint (or endpoints) asked, such as `http://127.0.0.1:2379`.
    public let endpoint: String
    /// Details: the underlying error, or etcd's message.
    public let message: String

    /// An error of `kind` at `endpoint`.
    public init(_ kind: Kind, endpoint: String, message: String) {
        self.kind = kind
        self.endpoint = endpoint
        self.message = message
    }

    /// One line, naming the endpoint.
    public var description: String {
        switch kind {
        case .unreachable: "cannot reach etcd at \(endpoint): \(message)"
        case .refused: "etcd at \(endpoint) refused the request: \(message)"
        case .badAnswer: "etcd at \(endpoint) answered something that is not its v3 JSON: \(message)"
        case .leaseExpired: "the etcd lease at \(endpoint) has expired: \(message)"
        }
    }
}
