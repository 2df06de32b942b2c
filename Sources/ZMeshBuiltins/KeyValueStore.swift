import Synchronization

/// The built-in `kv` service's storage: a dictionary behind a mutex.
final class KeyValueStore: Sendable {
    private let values = Mutex<[String: [UInt8]]>([:])

    func put(_ key: String, _ value: [UInt8]) { values.withLock { $0[key] = value } }
    func get(_ key: String) -> [UInt8]? { values.withLock { $0[key] } }
    func delete(_ key: String) -> Bool { values.withLock { $0.removeValue(forKey: key) != nil } }

    /// Treats the value as a decimal counter: adds one and returns the new count.
    func increment(_ key: String) -> Int {
        values.withLock { values in
            let count = (values[key].flatMap { Int(String(decoding: $0, as: UTF8.self)) } ?? 0) + 1
            values[key] = Array(String(count).utf8)
            return count
        }
    }
}
