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
}
