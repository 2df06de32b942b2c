// The methods a Greeter service and its clients share, and their types. Put your own
// service's declarations in a small module like this one: the service registers them, its
// callers call them, and the compiler checks that both agree on name and types.
public import ZMesh

/// The Greeter service's methods.
public enum Greeter {
    /// `greeter.hello`: a greeting for a name, and which node gave it.
    public static let hello = MeshMethod<HelloRequest, HelloReply>("greeter.hello")
    /// `greeter.countdown`: a server stream, from the given number down to 0, one tick a message.
    public static let countdown = MeshServerStreamingMethod<CountdownRequest, CountdownTick>("greeter.countdown")
}

/// What `greeter.countdown` takes: where to start (0 to 1,000).
public struct CountdownRequest: Codable, Sendable {
    public let from: Int
    public init(from: Int) { self.from = from }
}

/// One message of `greeter.countdown`.
public struct CountdownTick: Codable, Sendable {
    public let left: Int
    public let servedBy: String
    public init(left: Int, servedBy: String) {
        self.left = left
        self.servedBy = servedBy
    }
}

/// What `greeter.hello` takes.
public struct HelloRequest: Codable, Sendable {
    public let name: String
    public init(name: String) { self.name = name }
}

/// What `greeter.hello` answers.
public struct HelloReply: Codable, Sendable {
    public let message: String
    /// Which node answered, to see load balancing and failover at work.
    public let servedBy: String
    public init(message: String, servedBy: String) {
        self.message = message
        self.servedBy = servedBy
    }
}
