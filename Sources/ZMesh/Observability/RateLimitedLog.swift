/// Remembers when each peer was last logged about, so a peer sending garbage is logged
/// once per period, not once per message. Bounded: forgets everyone past `maxPeers`.
struct RateLimitedLog {
    private var lastLogged: [[UInt8]: ContinuousClock.Instant] = [:]
    let period: Duration
    let maxPeers: Int

    init(period: Duration = .seconds(10), maxPeers: Int = 1024) {
        self.period = period
        self.maxPeers = maxPeers
    }

    /// True if `peer` should be logged about now (and records that it was).
    mutating func shouldLog(_ peer: [UInt8]) -> Bool {
        let now = ContinuousClock.now
        if let last = lastLogged[peer], last.duration(to: now) < period { return false }
        if lastLogged.count >= maxPeers { lastLogged.removeAll(keepingCapacity: true) }
        lastLogged[peer] = now
        return true
    }
}

extension [UInt8] {
    /// Hex text of bytes, for logs (routing ids are binary).
    var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(count * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
