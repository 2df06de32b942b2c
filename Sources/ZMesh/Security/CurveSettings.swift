/// How one node or client uses CURVE: its own keys, the servers' public keys it connects to,
/// and (for nodes that accept connections) the public keys it lets in.
public struct CurveSettings: Sendable {
    /// This node's (or client's) key pair.
    public var identity: CurveKeyPair
    /// Servers' public keys by endpoint: what this side checks when it connects.
    public var serverKeys: [String: String]
    /// Public key -> owner name: who may connect to this node's sockets (the ZAP allow-list).
    /// The owner's name becomes the connection's `User-Id`.
    public var trusted: [String: String]

    /// Settings from a key pair, the servers' public keys by endpoint, and who may connect.
    public init(identity: CurveKeyPair, serverKeys: [String: String], trusted: [String: String] = [:]) {
        self.identity = identity
        self.serverKeys = serverKeys
        self.trusted = trusted
    }

    /// The server key for an endpoint (also tried with a wildcard host made loopback).
    public func serverKey(for endpoint: String) -> String? {
        serverKeys[endpoint] ?? serverKeys[Endpoint.connectable(endpoint)]
    }
}
