import ZeroMQ

/// A CURVE key pair in Z85 text (40 characters each): a node's or client's identity.
/// `zmesh keygen` writes them to a topology's key directory; ``KeyStore`` reads them back.
public struct CurveKeyPair: Sendable, Equatable {
    /// The public key: give it to peers.
    public let publicKey: String
    /// The secret key: keep it to its owner.
    public let secretKey: String

    /// A key pair from its two keys (not checked here: ``KeyStore`` checks what it reads).
    public init(publicKey: String, secretKey: String) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// A new random key pair.
    public static func generate() throws(SecurityError) -> CurveKeyPair {
        do {
            let pair = try ZMQCurveKeyPair.generate()
            return CurveKeyPair(publicKey: pair.publicKey, secretKey: pair.secretKey)
        } catch {
            throw SecurityError("cannot make a CURVE key pair: \(error) (is libzmq built with CURVE?)")
        }
    }

    /// The public key that belongs to `secretKey`; nil if it is not a valid key.
    static func publicKey(forSecret secretKey: String) -> String? { ZMQCurveKeyPair.publicKey(forSecret: secretKey) }

    /// True for 40 characters of the Z85 alphabet that decode to 32 bytes.
    static func isValidKey(_ key: String) -> Bool { ZMQCurveKeyPair.isValidKey(key) }
}
