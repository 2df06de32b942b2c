/// Identifies one call across every hop and retry: the client's random 64-bit id and the
/// client's counter. A retry keeps the id, so services can answer it from their reply cache.
public struct RequestID: Hashable, Sendable, CustomStringConvertible {
    /// Random per client instance.
    public let client: UInt64
    /// Increases per call on that client.
    public let sequence: UInt64

    /// The id of call `sequence` of client `client`.
    public init(client: UInt64, sequence: UInt64) {
        self.client = client
        self.sequence = sequence
    }

    /// `CLIENT-SEQUENCE`, the client in 16 hex digits and the sequence in decimal, as logs show it.
    public var description: String {
        let hex = String(client, radix: 16)
        return String(repeating: "0", count: max(0, 16 - hex.count)) + hex + "-\(sequence)"
    }
}
