/// A reply as the cache keeps it: its header and body, re-encoded when a retry asks again.
///
/// A class: a reply is kept in the cache and sent at once, so it is copied on every request's
/// path; as a struct each copy retained its header's name, trace id and metadata and its body
/// (and released them again), as a class a copy is one retain.
final class CachedReply: Sendable {
    let header: Header
    let body: [UInt8]

    init(header: Header, body: [UInt8]) {
        self.header = header
        self.body = body
    }
}

/// Recent replies by request id, so a retry that reaches this node again is answered from
/// here instead of running twice. Bounded by entry count and bytes; oldest out first.
///
/// A ring of slots in arrival order plus an id -> slot table: storing a reply writes one slot
/// and drops the oldest id from the table, and the table holds plain integers, so keeping a
/// reply costs no retains beyond the reply's own (this is on every request's path).
struct ReplyCache {
    private var slots: [(id: RequestID, reply: CachedReply)?]
    private var index = IDTable<RequestID, Int>()
    private var next = 0
    private var bytes = 0
    let maxEntries: Int
    let maxBytes: Int

    init(maxEntries: Int, maxBytes: Int) {
        self.maxEntries = max(0, maxEntries)
        self.maxBytes = max(0, maxBytes)
        slots = Array(repeating: nil, count: self.maxEntries)
        index = IDTable(minimumCapacity: self.maxEntries)
    }

    var count: Int { index.count }

    /// The cached reply, if any.
    subscript(id: RequestID) -> CachedReply? {
        index[id].flatMap { slots[$0]?.reply }
    }

    /// What an entry counts against `maxBytes`: its body and a header's worth.
    private static func size(_ reply: CachedReply) -> Int { reply.body.count + 64 }

    mutating func store(_ id: RequestID, _ reply: CachedReply) {
        guard maxEntries > 0 else { return }
        let size = Self.size(reply)
        guard size <= maxBytes else { return }
        if let slot = index[id], let old = slots[slot] {
            bytes += size - Self.size(old.reply)
            slots[slot] = (id, reply)
        } else {
            evict(next)
            slots[next] = (id, reply)
            index[id] = next
            bytes += size
            next = (next + 1) % maxEntries
        }
        // Over the byte bound: drop the oldest until under it.
        var oldest = next
        while bytes > maxBytes, index.count > 1 {
            evict(oldest)
            oldest = (oldest + 1) % maxEntries
        }
    }

    private mutating func evict(_ slot: Int) {
        guard let entry = slots[slot].take() else { return }
        index[entry.id] = nil
        bytes -= Self.size(entry.reply)
    }
}
