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
///
/// Each key sits beside its value in one slot, so a look-up in a large table (a service's
/// reply cache index: 32,768 slots) misses the cache once, not once for the key and again
/// for the value.
struct IDTable<Key: IDKey, Value> {
    private struct Slot {
        let key: Key
        var value: Value
    }

    private var slots: [Slot?]
    private var mask: Int
    private var shift: UInt64
    private(set) var count = 0

    init(minimumCapacity: Int = 16) {
        var size = 16
        while size < minimumCapacity * 2 { size <<= 1 }
        slots = Array(repeating: nil, count: size)
        mask = size - 1
        shift = UInt64(64 - size.trailingZeroBitCount)
    }

    var isEmpty: Bool { count == 0 }

    @inline(__always)
    private func home(_ key: Key) -> Int { Int(truncatingIfNeeded: key.mixedHash >> shift) }

    @inline(__always)
    private func find(_ key: Key) -> Int? {
        var index = home(key)
        while let present = slots[index]?.key {
            if present == key { return index }
            index = (index + 1) & mask
        }
        return nil
    }

    subscript(key: Key) -> Value? {
        get { find(key).flatMap { slots[$0]?.value } }
        set {
            if let newValue { _ = updateValue(newValue, forKey: key) } else { _ = removeValue(forKey: key) }
        }
    }

    /// Sets the value; returns the old one, if any.
    @discardableResult
    mutating func updateValue(_ value: Value, forKey key: Key) -> Value? {
        if let index = find(key) {
            let old = slots[index]?.value
            slots[index]?.value = value
            return old
        }
        if (count + 1) * 2 > slots.count { grow() }
        var index = home(key)
        while slots[index] != nil { index = (index + 1) & mask }
        slots[index] = Slot(key: key, value: value)
        count += 1
        return nil
    }

    /// Removes the value; returns it, if there was one.
    @discardableResult
    mutating func removeValue(forKey key: Key) -> Value? {
        guard var hole = find(key) else { return nil }
        let removed = slots[hole].take()?.value
        count -= 1
        // Backward-shift: move later members of the probe run into the hole.
        var next = (hole + 1) & mask
        while let candidate = slots[next]?.key {
            let ideal = home(candidate)
            // Move it if its ideal slot is not in (hole, next].
            let distanceToNext = (next - ideal) & mask
            let distanceToHole = (hole - ideal) & mask
            if distanceToHole < distanceToNext {
                slots[hole] = slots[next].take()
                hole = next
            }
            next = (next + 1) & mask
        }
        return removed
    }

    mutating func removeAll() {
        for index in slots.indices { slots[index] = nil }
        count = 0
    }

    /// Every value, in no particular order.
    var allValues: [Value] { slots.compactMap { $0?.value } }

    /// Every entry, in no particular order.
    var entries: [(key: Key, value: Value)] {
        var out: [(key: Key, value: Value)] = []
        out.reserveCapacity(count)
        for case let slot? in slots { out.append((slot.key, slot.value)) }
        return out
    }

    private mutating func grow() {
        let old = slots
        let size = slots.count * 2
        slots = Array(repeating: nil, count: size)
        mask = size - 1
        shift = UInt64(64 - size.trailingZeroBitCount)
        count = 0
        for case let slot? in old { updateValue(slot.value, forKey: slot.key) }
    }
}
