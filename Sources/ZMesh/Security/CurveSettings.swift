import ZeroMQ

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

    /// Options for a socket that accepts CURVE connections.
    var serverOptions: [ZMQSocketOption] {
        [.curveServer(true), .curveSecretKey(identity.secretKey), .curvePublicKey(identity.publicKey), .zapDomain("zmesh")]
    }

    /// Sets a connecting socket's CURVE client keys for `endpoint`; nothing without CURVE.
    static func secure(_ socket: ZMQSocket, with curve: CurveSettings?, connectingTo endpoint: String) throws {
        guard let curve else { return }
        guard let options = curve.clientOptions(for: endpoint) else {
            throw SecurityError("no CURVE public key is known for \(endpoint)")
        }
        try socket.set(options)
    }

    /// Options for a socket about to connect to `endpoint`; nil if no key is known for it.
    func clientOptions(for endpoint: String) -> [ZMQSocketOption]? {
        guard let server = serverKey(for: endpoint) else { return nil }
        return [.curveServerKey(server), .curvePublicKey(identity.publicKey), .curveSecretKey(identity.secretKey)]
    }
}
