/// The typed error every failed call ends in.
///
/// Every call ends in a reply or a `MeshError`; none hangs. Switch on ``code``:
///
/// ```swift
/// do {
///     let reply = try await client.call("kv.get", Array("color".utf8))
/// } catch let error as MeshError where error.code == .unavailable {
///     // no live instance; error.mayHaveRun says whether a retry could run it twice
/// }
/// ```
public struct MeshError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is.
    public enum Code: String, Sendable, Equatable, CaseIterable {
        /// The call's deadline passed (locally, or at the service before it ran).
        case timeout
        /// No live instance could take the call, or its instance went away.
        case unavailable
        /// Every instance is at its limit and the queue is full; back off and retry later.
        case overloaded
        /// The calling task was cancelled.
        case cancelled
        /// The handler ran and failed with a ``ServiceError``: see ``applicationCode``.
        case application
        /// The service has no handler with that name.
        case notFound
        /// The request body could not be decoded, or a reply could not be decoded as the asked type.
        case badRequest
        /// The handler failed with an error that is not a ``ServiceError``.
        case internalError
        /// A peer broke the protocol, or a message exceeded a limit.
        case protocolError
        /// The mesh refused this peer (security).
        case forbidden
        /// The client was shut down or has no way to reach the mesh.
        case closed
    }

    /// What kind of failure this is.
    public let code: Code
    /// The called name (`kv.get`).
    public let service: String
    /// What happened, in words a user can act on.
    public let message: String
    /// For ``Code/application``: the handler's own code (100 or more).
    public let applicationCode: UInt16?
    /// True when the request may have run before the failure (so retrying it could run it twice).
    public let mayHaveRun: Bool
    /// Trailing metadata the service sent with the error (a ``ServiceError``'s, or an
    /// interceptor's); empty for errors the mesh raised itself.
    public var metadata = Metadata()

    /// An error of kind `code` for a call of `service`.
    public init(_ code: Code, service: String, message: String, applicationCode: UInt16? = nil, mayHaveRun: Bool = false) {
        self.code = code
        self.service = service
        self.message = message
        self.applicationCode = applicationCode
        self.mayHaveRun = mayHaveRun
    }

    /// One line: the kind, the service and the message.
    public var description: String {
        var text = "\(code.rawValue): \(service): \(message)"
        if let applicationCode { text += " (code \(applicationCode))" }
        if mayHaveRun && code != .application { text += " (the request may have run)" }
        return text
    }
}

extension MeshError {
    /// Maps an ERROR message from the wire to the error a caller sees.
    init(status: UInt16, service: String, message: String, mayHaveRun: Bool) {
        if status >= StatusCode.firstApplicationCode {
            self.init(.application, service: service, message: message, applicationCode: status, mayHaveRun: true)
            return
        }
        let code: Code = switch StatusCode(rawValue: status) {
        case .deadlineExceeded: .timeout
        case .unavailable: .unavailable
        case .overloaded: .overloaded
        case .cancelled: .cancelled
        case .notFound: .notFound
        case .badRequest: .badRequest
        case .internalError: .internalError
        case .protocolError, .tooLarge, .none: .protocolError
        case .forbidden: .forbidden
        }
        self.init(code, service: service, message: message, mayHaveRun: mayHaveRun)
    }
}
