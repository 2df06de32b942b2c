import DequeModule

/// Recent replies by request id, so a retry that reaches this node again is answered from
/// here instead of running twice. Bounded by entry count and bytes; oldest out first.
struct ReplyCache {
    private var entries: [RequestID: [[UInt8]]] = [:]
    private var order = Deque<RequestID>()
    private var bytes = 0
    let maxEntries: Int
    let maxBytes: Int

    init(maxEntries: Int, maxBytes: Int) {
        self.maxEntries = max(0, maxEntries)
        self.maxBytes = max(0, maxBytes)
    }

    var count: Int { entries.count }

    /// The cached reply frames (header and body, no routing), if any.
    subscript(id: RequestID) -> [[UInt8]]? { entries[id] }

    mutating func store(_ id: RequestID, _ frames: [[UInt8]]) {
        guard maxEntries > 0 else { return }
        let size = frames.reduce(0) { $0 + $1.count }
        guard size <= maxBytes else { return }
        if let old = entries.updateValue(frames, forKey: id) {
            bytes -= old.reduce(0) { $0 + $1.count }
        } else {
            order.append(id)
        }
        bytes += size
        while entries.count > maxEntries || bytes > maxBytes, let oldest = order.popFirst() {
            if let removed = entries.removeValue(forKey: oldest) {
                bytes -= removed.reduce(0) { $0 + $1.count }
            }
        }
    }
}
