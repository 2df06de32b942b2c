/// Test messages numbered in order: a 4-byte big-endian number as a frame, and back.
enum NumberedFrame {
    /// `number` as a 4-byte big-endian frame.
    static func make(_ number: Int) -> [UInt8] {
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: number).bigEndian, Array.init)
    }

    /// The number in a frame made by ``make(_:)``.
    static func number(in frame: [UInt8]) -> UInt32 {
        frame.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }
}
