import Synchronization

/// The built-in `kv` service's storage: a dictionary behind a mutex.
final class KeyValueStore: Sendable {
    private let values = Mutex<[String: [UInt8]]>([:])

    func put(_ key: String, _ value: [UInt8]) { values.withLock { $0[key] = value } }
    func get(_ key: String) -> [UInt8]? { values.withLock { $0[key] } }
    func delete(_ key: String) -> Bool { values.withLock { $0.removeValue(forKey: key) != nil } }
}
