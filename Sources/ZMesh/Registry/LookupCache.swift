import MeshClock

/// Encoded `mesh.lookup` answers by service (`""` for every service), so that answering a
/// look-up is a dictionary hit rather than a walk of the table and a JSON encoding.
///
/// An answer goes when its service's live instances change (and the every-service one with
/// any change), and is kept at most `maxAge`: the loads and `last_heartbeat_ms_ago` in an
/// answer are up to that much older than the answer. The keys are names peers ask for, so
/// the cache holds at most `maxEntries` answers and starts over when full.
struct LookupCache {
    /// How long an answer is served before it is encoded afresh.
    let maxAge: Duration
    /// Most answers kept.
    let maxEntries: Int
    private var answers: [String: (body: [UInt8], at: MonotonicTime)] = [:]

    init(maxAge: Duration, maxEntries: Int = 4096) {
        self.maxAge = maxAge
        self.maxEntries = maxEntries
    }

    /// The answer for `service` if one is cached and fresh.
    func answer(for service: String, now: MonotonicTime) -> [UInt8]? {
        guard let cached = answers[service], cached.at.advanced(by: maxAge) > now else { return nil }
        return cached.body
    }

    /// Keeps `body` as the answer for `service` from `now`.
    mutating func store(_ body: [UInt8], for service: String, now: MonotonicTime) {
        if answers[service] == nil, answers.count >= maxEntries { answers.removeAll(keepingCapacity: true) }
        answers[service] = (body, now)
    }

    /// Forgets the answers `change` made wrong: its services' and the every-service one.
    mutating func invalidate(_ change: RegistryTable.Change) {
        guard !change.isEmpty else { return }
        for service in change.services { answers[service] = nil }
        answers[""] = nil
    }

    /// Forgets every answer.
    mutating func removeAll() { answers.removeAll() }
}
