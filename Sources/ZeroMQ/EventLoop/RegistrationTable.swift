/// The loop's registrations by id, looked up on every send and every wake-up of a socket: a
/// slot array indexed by the id's low 32 bits, where Swift's `Dictionary` ran seeded SipHash
/// per look-up.
///
/// The high 32 bits are the slot's generation, bumped each time the slot is reused, so a stale
/// id (a socket that unregisters twice, or touches after closing) never finds another socket's
/// registration.
struct RegistrationTable<Entry> {
    private var entriesBySlot: [Entry?] = []
    private var generations: [UInt64] = []
    private var free: [Int] = []

    /// Stores `entry`; returns its new id.
    mutating func insert(_ entry: Entry) -> UInt64 {
        let slot: Int
        if let reused = free.popLast() {
            slot = reused
            generations[slot] &+= 1
        } else {
            slot = entriesBySlot.count
            entriesBySlot.append(nil)
            generations.append(1)
        }
        let id = generations[slot] << 32 | UInt64(slot)
        entriesBySlot[slot] = entry
        return id
    }

    @inline(__always)
    private func slot(of id: UInt64) -> Int? {
        let slot = Int(truncatingIfNeeded: id & 0xFFFF_FFFF)
        guard slot < generations.count, generations[slot] == id >> 32 else { return nil }
        return slot
    }

    @inline(__always)
    subscript(id: UInt64) -> Entry? {
        guard let slot = slot(of: id) else { return nil }
        return entriesBySlot[slot]
    }

    /// Removes and returns the entry of `id`, if it is still there.
    mutating func remove(_ id: UInt64) -> Entry? {
        guard let slot = slot(of: id), let entry = entriesBySlot[slot] else { return nil }
        entriesBySlot[slot] = nil
        free.append(slot)
        return entry
    }

    /// Every entry, oldest slot first.
    var entries: [Entry] { entriesBySlot.compactMap { $0 } }

    mutating func removeAll() {
        // Generations stay: ids handed out before never match again.
        for slot in entriesBySlot.indices where entriesBySlot[slot] != nil {
            entriesBySlot[slot] = nil
            free.append(slot)
        }
    }
}
