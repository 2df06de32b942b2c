import Foundation

/// A method of a service, declared once in a module its service and its callers share: its
/// name, its kind, its request and reply types and their codec. ``ServiceHandlers/register(_:_:)-(MeshMethod<Request,Reply>,_)``
/// and ``MeshClient/call(_:_:options:)-(MeshMethod<Request,Reply>,_,_)`` both take it, so a
/// handler and its callers agree on name and types at compile time, with no generated code.
///
/// ```swift
/// // In GreeterAPI, a module both sides import:
/// public enum Greeter {
///     public static let hello = MeshMethod<HelloRequest, HelloReply>("greeter.hello")
/// }
/// // The service:
/// handlers.register(Greeter.hello) { request, context in HelloReply(message: "Hello, \(request.name)!") }
/// // A caller:
/// let reply = try await client.call(Greeter.hello, HelloRequest(name: "Ada"))
/// ```
public struct MeshMethod<Request: Codable & Sendable, Reply: Codable & Sendable>: MeshMethodDeclaration {
    /// The name callers call, such as `greeter.hello`.
    public let name: String
    /// How request and reply bodies are written.
    public let codec: any MeshCodec

    /// A method called `name`, its bodies written by `codec` (JSON by default).
    ///
    /// - Precondition: `name` is 1 to 255 bytes of UTF-8 without control characters.
    public init(_ name: String, codec: some MeshCodec = JSONMeshCodec()) {
        self.name = checkedMethodName(name)
        self.codec = codec
    }

    /// One request, one reply.
    public var kind: MethodKind { .unary }
}

/// What every declared method (``MeshMethod``, ``MeshServerStreamingMethod``) has: a name, a
/// codec, a kind, and request and reply types.
public protocol MeshMethodDeclaration: Sendable {
    /// The request's type.
    associatedtype Request: Codable & Sendable
    /// The reply's type (each message's, for a stream).
    associatedtype Reply: Codable & Sendable
    /// The name callers call.
    var name: String { get }
    /// How bodies are written.
    var codec: any MeshCodec { get }
    /// How many messages each side sends.
    var kind: MethodKind { get }
}

extension MeshMethodDeclaration {
    /// What `mesh.describe` says of it.
    public var description: MethodDescription {
        MethodDescription(name: name, kind: kind, request: MethodDescription.typeName(Request.self),
                          reply: MethodDescription.typeName(Reply.self))
    }
}

/// `name`, checked to be a name callers can call.
func checkedMethodName(_ name: String) -> String {
    precondition(Header.isValidName(name), "method name must be 1 to 255 bytes of UTF-8 without control characters: \(name)")
    return name
}

/// How many messages each side of a call sends.
public struct MethodKind: Hashable, Sendable, Codable, CustomStringConvertible {
    /// `unary`, as `mesh.describe` and `zmesh ls` print it.
    public let rawValue: String

    /// One request, one reply.
    public static let unary = MethodKind(rawValue: "unary")
    /// One request, then a stream of replies (``ServiceHandlers/registerServerStream(_:_:)``).
    public static let serverStreaming = MethodKind(rawValue: "server-streaming")
    /// A stream of requests, then one reply (``ServiceHandlers/registerClientStream(_:_:)``).
    public static let clientStreaming = MethodKind(rawValue: "client-streaming")
    /// A stream each way (``ServiceHandlers/registerBidirectionalStream(_:_:)``).
    public static let bidirectionalStreaming = MethodKind(rawValue: "bidirectional-streaming")

    /// Whether its handler reads a stream of requests.
    var readsRequestStream: Bool { self == .clientStreaming || self == .bidirectionalStreaming }
    /// Whether its caller reads a stream of replies.
    var sendsReplyStream: Bool { self == .serverStreaming || self == .bidirectionalStreaming }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    private init(rawValue: String) { self.rawValue = rawValue }
}

/// One method as a node describes it (`mesh.describe`).
public struct MethodDescription: Codable, Sendable, Hashable {
    /// The registered name.
    public var name: String
    /// Its kind.
    public var kind: MethodKind
    /// The request's type, such as `GreeterAPI.HelloRequest`; nil for a handler over raw bytes.
    public var request: String?
    /// The reply's type; nil for a handler over raw bytes.
    public var reply: String?

    /// A method's description.
    public init(name: String, kind: MethodKind, request: String? = nil, reply: String? = nil) {
        self.name = name
        self.kind = kind
        self.request = request
        self.reply = reply
    }

    /// `GreeterAPI.HelloRequest` for that type: its name with its module.
    static func typeName(_ type: Any.Type) -> String { String(reflecting: type) }
}

/// What a node says when asked `mesh.describe`: who it is and the methods it serves.
public struct NodeDescription: Codable, Sendable, Equatable {
    /// `service`, `broker` or `registry`.
    public var role: String
    /// The node's name.
    public var node: String
    /// The ZMesh version it runs.
    public var version: String
    /// Its methods, by name. A broker's and a registry's are the names they answer themselves.
    public var methods: [MethodDescription]

    /// A node's description.
    public init(role: String, node: String, version: String = ZMeshVersion.current, methods: [MethodDescription]) {
        self.role = role
        self.node = node
        self.version = version
        self.methods = methods
    }

    /// The name nodes answer it under.
    public static let name = "mesh.describe"

    /// The description as the body of a reply.
    var encoded: [UInt8] { (try? Array(JSONEncoder().encode(self))) ?? [] }
}
