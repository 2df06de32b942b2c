/// A mistake in how ZMesh is set up: an endpoint that is not valid, a node or built-in
/// service that does not exist, a node program started without its arguments. Set-up fails
/// with this; calls fail with ``MeshError``. (A bad topology file is a ``TopologyError``,
/// which names the line and key; missing or wrong keys are a ``SecurityError``.)
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong, and what would be right.
    public let message: String

    /// An error that says `message`.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}
