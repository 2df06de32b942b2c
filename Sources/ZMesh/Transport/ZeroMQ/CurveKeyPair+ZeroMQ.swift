import ZeroMQ

/// CURVE is ZMTP's security mechanism (ZeroMQ RFC 26): its keys are made and checked by libzmq.
extension CurveKeyPair {
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
