// The types a Greeter service and its clients share. Put your own service's request and
// reply types in a small module like this one.

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
