import Foundation
public import ZMesh
import Synchronization

/// ZMesh's instance directory on etcd: each instance is a key under `PREFIX/instances/`, put
/// with a lease whose TTL is the node's expiry (liveness x interval, at least etcd's minimum)
/// and kept alive by each heartbeat; a drain revokes the lease, so the key goes at once, and a
/// node that dies loses its key when the lease runs out. Clients and brokers read the prefix
/// and watch it from the read's revision, so no change between the read and the watch is
/// missed.
///
/// ```swift
/// let directory = EtcdDirectory(endpoints: ["http://127.0.0.1:2379"], prefix: "/zmesh/")
/// nodeConfiguration.directory = directory
/// let client = try MeshClient(configuration: .init(discovery: .directory(directory)), logger: logger)
/// ```
public final class EtcdDirectory: InstanceDirectory {
    private struct Registration {
        var lease: Int64
        var value: [UInt8]
    }

    /// The etcd client it uses.
    public let client: EtcdClient
    /// Where instances live: keys `PREFIX` + `instances/` + instance id.
    public let prefix: String
    /// `etcd` and the endpoints, for logs and errors.
    public let name: String
    private let registrations = Mutex<[String: Registration]>([:])
    /// Instances withdrawn: a heartbeat still on its way must not register them again.
    private let withdrawn = Mutex<Set<String>>([])

    /// A directory in the etcd cluster at `endpoints`, under `prefix` (default `/zmesh/`).
    public init(endpoints: [String], prefix: String = "/zmesh/", requestTimeout: Duration = .seconds(2)) {
        client = EtcdClient(endpoints: endpoints, requestTimeout: requestTimeout)
        self.prefix = prefix.hasSuffix("/") ? prefix : prefix + "/"
        name = "etcd \(endpoints.joined(separator: ","))"
    }

    private var instancesPrefix: String { prefix + "instances/" }

    public func announce(_ instance: InstanceInfo, expiry: Duration) async throws {
        guard !isWithdrawn(instance.instance) else { return }
        let value = try Self.encode(instance)
        let key = instancesPrefix + instance.instance
        if let registration = registration(of: instance.instance),
           try await renew(registration, key: key, value: value, instance: instance.instance) {
            return
        }
        // First beat, or the lease expired while etcd was away (or slow): register anew.
        try await register(key: key, value: value, instance: instance.instance, expiry: expiry)
    }

    public func withdraw(_ instance: InstanceInfo) async throws {
        guard let registration = markWithdrawn(instance.instance) else { return }
        try await client.revoke(lease: registration.lease)
    }

    /// Keeps `registration`'s lease alive and rewrites the key if its value changed; false if
    /// the lease has expired.
    private func renew(_ registration: Registration, key: String, value: [UInt8], instance: String) async throws -> Bool {
        do {
            try await client.keepAlive(lease: registration.lease)
        } catch {
            if error.kind == .leaseExpired { return false }
            throw error
        }
        if registration.value != value {
            try await client.put(key, value, lease: registration.lease)
            store(Registration(lease: registration.lease, value: value), for: instance)
        }
        return true
    }

    private func register(key: String, value: [UInt8], instance: String, expiry: Duration) async throws {
        let ttl = max(2, Int((expiry / .milliseconds(1)).rounded(.up)) / 1000 + 1)
        let lease = try await client.grantLease(ttlSeconds: ttl)
        try await client.put(key, value, lease: lease)
        store(Registration(lease: lease, value: value), for: instance)
    }

    // The tables, touched only in these synchronous steps (never across an await).

    private func isWithdrawn(_ instance: String) -> Bool { withdrawn.withLock { $0.contains(instance) } }

    private func registration(of instance: String) -> Registration? { registrations.withLock { $0[instance] } }

    private func store(_ registration: Registration, for instance: String) {
        registrations.withLock { $0[instance] = registration }
    }

    private func markWithdrawn(_ instance: String) -> Registration? {
        withdrawn.withLock { _ = $0.insert(instance) }
        return registrations.withLock { $0.removeValue(forKey: instance) }
    }

    /// The announcement as stored: without its load, which changes every beat (the key is
    /// rewritten only when the rest changes).
    private static func encode(_ instance: InstanceInfo) throws -> [UInt8] {
        var stable = instance
        stable.load = 0
        return try Array(JSONEncoder().encode(stable))
    }

    public func follow() -> AsyncThrowingStream<[InstanceInfo], any Error> {
        let client = self.client, prefix = instancesPrefix
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let read = try await client.range(prefix: prefix)
                    var instances: [String: InstanceInfo] = [:]
                    for entry in read.values { if let info = Self.decode(entry.value) { instances[entry.key] = info } }
                    continuation.yield(Self.sorted(instances))
                    for try await batch in client.watch(prefix: prefix, fromRevision: read.revision + 1) {
                        for event in batch {
                            switch event {
                            case .put(let entry): instances[entry.key] = Self.decode(entry.value)
                            case .delete(let key, _): instances[key] = nil
                            }
                        }
                        continuation.yield(Self.sorted(instances))
                    }
                    continuation.finish()
                } catch is CancellationError {
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// The live instances now (one read).
    public func instances() async throws(EtcdError) -> [InstanceInfo] {
        try await client.range(prefix: instancesPrefix).values.compactMap { Self.decode($0.value) }
    }

    private static func decode(_ value: [UInt8]) -> InstanceInfo? {
        guard value.count <= 16 * 1024, var info = try? JSONDecoder().decode(InstanceInfo.self, from: Data(value)) else { return nil }
        info.health = .live
        return info
    }

    private static func sorted(_ instances: [String: InstanceInfo]) -> [InstanceInfo] {
        instances.keys.sorted().compactMap { instances[$0] }
    }
}

extension Topology {
    /// The directory on the etcd cluster the file names (`registry: { etcd: ... }`), or nil
    /// when the file has registries instead. Pass it to `MeshNode.make` and
    /// `MeshClient(topology:)`.
    public func etcdDirectory() -> EtcdDirectory? {
        etcd.map { EtcdDirectory(endpoints: $0.endpoints, prefix: $0.prefix) }
    }
}
