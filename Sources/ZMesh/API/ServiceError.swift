/// An error a handler throws to give its caller a code and a message.
///
/// The caller gets a ``MeshError`` with code ``MeshError/Code/application``, this
/// ``code`` as ``MeshError/applicationCode`` and this ``message``. Any other error a handler
/// throws reaches the caller as ``MeshError/Code/internalError`` with the error's description.
///
/// ```swift
/// guard let value = store[key] else { throw ServiceError(code: 404, message: "no key \(key)") }
/// ```
public struct ServiceError: Error, Sendable, Equatable {
    /// The application's code, 100 to 65535 (lower codes are the mesh's own and are raised to 100).
    public let code: UInt16
    /// What went wrong, for the caller.
    public let message: String
    /// Trailing metadata for the caller (``MeshError/metadata``).
    public var metadata: Metadata

    /// An application error with the handler's own `code` (below 100 is raised to 100),
    /// `message` and trailing `metadata`.
    public init(code: UInt16, message: String, metadata: Metadata = Metadata()) {
        self.code = max(code, StatusCode.firstApplicationCode)
        self.message = message
        self.metadata = metadata
    }
}
