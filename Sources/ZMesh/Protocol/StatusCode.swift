/// The status an ERROR message carries. Codes below 100 are the mesh's own; codes from 100
/// up are the application's (see ``ServiceError``).
enum StatusCode: UInt16, Sendable {
    /// The request's deadline passed before it ran or finished.
    case deadlineExceeded = 1
    /// No live instance could take the request, or the instance went away.
    case unavailable = 2
    /// Every instance is at its limit and the queue is full.
    case overloaded = 3
    /// The client cancelled the call.
    case cancelled = 4
    /// No handler for that name at the node that got it.
    case notFound = 5
    /// The request body could not be decoded by the handler's codec.
    case badRequest = 6
    /// The handler failed with an error that is not a ``ServiceError``.
    case internalError = 7
    /// The node could not make sense of the request (protocol error).
    case protocolError = 8
    /// The request or reply exceeds a configured size limit.
    case tooLarge = 9
    /// The peer is not allowed (security).
    case forbidden = 10

    /// First code left to applications.
    static let firstApplicationCode: UInt16 = 100
}
