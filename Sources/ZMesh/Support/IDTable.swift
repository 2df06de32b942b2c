/// Keys an ``IDTable`` can hash cheaply: ids that are random or sequential already, so a
/// multiply-shift mix spreads them well (Swift's `Dictionary` runs seeded SipHash per lookup,
/// which showed as the largest single cost of a service node's request path).
protocol IDKey: Equatable {
    var mixedHash: UInt64 { get }
}

extension UInt64: IDKey {
    @inline(__always)
    var mixedHash: UInt64 { self &* 0x9E37_79B9_7F4A_7C15 }
}

extension ConnectionID: IDKey {
    @inline(__always)
    var mixedHash: UInt64 { UInt64(raw) &* 0x9E37_79B9_7F4A_7C15 }
}

extension RequestID: IDKey {
    @inline(__always)
    var mixedHash: UInt64 { (client ^ (sequence &* 0xC2B2_AE3D_27D4_EB4F)) &* 0x9E37_79B9_7F4A_7C15 }
}

/// An open-addressing hash map from ids to values: linear probing, backward-shift deletion,
/// growing at half full. For hot-path tables keyed by request ids and sequence numbers.
struct IDTable<Key: IDKey, Value> {
    private var keys: [Key?]
    private var values: [Value?]
    private var mask: Int
    private var shift: UInt64
    private(set) var count = 0

    init(minimumCapacity: Int = 16) {
        var size = 16
        while size < minimumCapacity * 2 { size <<= 1 }
        keys = Array(repeating: nil, count: size)
        values = Array(repeating: nil, count: size)
        mask = size - 1
        shift = UInt64(64 - size.trailingZeroBitCount)
    }

    var isEmpty: Bool { count == 0 }

    @inline(__always)
    private func home(_ key: Key) -> Int { Int(truncatingIfNeeded: key.mixedHash >> shift) }

    @inline(__always)
    private func find(_ key: Key) -> Int? {
        var slot = home(key)
        while let present = keys[slot] {
            if present == key { return slot }
            slot = (slot + 1) & mask
        }
        return nil
    }

    subscript(key: Key) -> Value? {
        get { find(key).flatMap { values[$0] } }
        set {
            if let newValue { _ = updateValue(newValue, forKey: key) } else { _ = removeValue(forKey: key) }
        }
    }

    /// Sets the value; returns the old one, if any.
    @discardableResult
    mutating func updateValue(_ value: Value, forKey key: Key) -> Value? {
        if let slot = find(key) {
            let old = values[slot]
            values[slot] = value
            return old
        }
        if (count + 1) * 2 > keys.count { grow() }
        var slot = home(key)
        while keys[slot] != nil { slot = (slot + 1) & mask }
        keys[slot] = key
        values[slot] = value
        count += 1
        return nil
    }

    /// Removes the value; returns it, if there was one.
    @discardableResult
    mutating func removeValue(forKey key: Key) -> Value? {
        guard var hole = find(key) else { return nil }
        let removed = values[hole]
        keys[hole] = nil
        values[hole] = nil
        count -= 1
        // Backward-shift: move later members of the probe run into the hole.
        var next = (hole + 1) & mask
        while let candidate = keys[next] {
            let ideal = home(candidate)
            // Move it if its ideal slot is not in (hole, next].
            let distanceToNext = (next - ideal) & mask
            let distanceToHole = (hole - ideal) & mask
            if distanceToHole < distanceToNext {
                keys[hole] = candidate
                values[hole] = values[next]
                keys[next] = nil
                values[next] = nil
                hole = next
            }
            next = (next + 1) & mask
        }
        return removed
    }

    mutating func removeAll() {
        for index in keys.indices {
            keys[index] = nil
            values[index] = nil
        }
        count = 0
    }

    /// Every value, in no particular order.
    var allValues: [Value] { values.compactMap { $0 } }

    /// Every entry, in no particular order.
    var entries: [(key: Key, value: Value)] {
        var out: [(key: Key, value: Value)] = []
        out.reserveCapacity(count)
        for index in keys.indices {
            if let key = keys[index], let value = values[index] { out.append((key, value)) }
        }
        return out
    }

    private mutating func grow() {
        let old = entries
        let size = keys.count * 2
        keys = Array(repeating: nil, count: size)
        values = Array(repeating: nil, count: size)
        mask = size - 1
        shift = UInt64(64 - size.trailingZeroBitCount)
        count = 0
        for (key, value) in old { updateValue(value, forKey: key) }
    }
}
