import ArgumentParser
import Foundation
import Logging
import ZMesh
import ZMeshEtcd

/// The live instances of a mesh and what each says it serves (`mesh.describe`), for
/// `zmesh ls` and `zmesh describe`.
struct MeshInventory {
    /// One live instance and its description, or why it has none.
    struct Entry {
        let instance: InstanceInfo
        let description: NodeDescription?
        let problem: String?
    }

    let entries: [Entry]

    /// Asks the mesh's registries (or its etcd) for its live instances, then each instance,
    /// at its own endpoint, for its description; at most `parallel` at once.
    ///
    /// - Throws: a ``MeshError`` when neither the registries nor etcd answer.
    static func load(topology: Topology, curve: CurveSettings?, logger: Logger,
                     timeout: Duration = .seconds(2), parallel: Int = 8) async throws -> MeshInventory {
        let instances = try await liveInstances(topology: topology, curve: curve, logger: logger, timeout: timeout)
        var entries: [Entry] = []
        var next = instances.makeIterator()
        try await withThrowingTaskGroup(of: Entry.self) { group in
            func startNext() {
                guard let instance = next.next() else { return }
                group.addTask { try await describe(instance, curve: curve, logger: logger, timeout: timeout) }
            }
            for _ in 0..<parallel { startNext() }
            while let entry = try await group.next() {
                entries.append(entry)
                startNext()
            }
        }
        return MeshInventory(entries: entries.sorted { ($0.instance.node, $0.instance.instance) < ($1.instance.node, $1.instance.instance) })
    }

    private static func liveInstances(topology: Topology, curve: CurveSettings?, logger: Logger,
                                      timeout: Duration) async throws -> [InstanceInfo] {
        if let directory = topology.etcdDirectory() {
            do {
                return try await directory.instances().filter { $0.health == .live }
            } catch {
                throw MeshError(.unavailable, service: "mesh.lookup", message: "cannot read the mesh's instances from etcd: \(error)")
            }
        }
        var configuration = MeshClient.Configuration(discovery: .registries(topology.registryAddresses))
        configuration.curve = curve
        let client = try MeshClient(configuration: configuration, logger: logger)
        let answer: Result<[UInt8], MeshError>
        do {
            answer = .success(try await client.call("mesh.lookup", [], options: CallOptions(timeout: timeout)))
        } catch {
            answer = .failure(error)
        }
        await client.shutdown()
        switch answer {
        case .success(let body):
            return try JSONDecoder().decode(LookupReply.self, from: Data(body)).instances.filter { $0.health == .live }
        case .failure(let error):
            throw MeshError(error.code, service: error.service, message: "no registry of \(topology.path) answered: \(error.message)")
        }
    }

    private static func describe(_ instance: InstanceInfo, curve: CurveSettings?, logger: Logger,
                                 timeout: Duration) async throws -> Entry {
        var configuration = MeshClient.Configuration(discovery: .endpoints([instance.endpoint]))
        configuration.curve = curve
        let client = try MeshClient(configuration: configuration, logger: logger)
        let entry: Entry
        do {
            let description = try await client.describeNode(options: CallOptions(timeout: timeout, maxAttempts: 1))
            entry = Entry(instance: instance, description: description, problem: nil)
        } catch {
            entry = Entry(instance: instance, description: nil, problem: "\(error.code): \(error.message)")
        }
        await client.shutdown()
        return entry
    }

    /// One method of one service, with the instances that serve it so.
    struct Row: Hashable {
        let service: String
        let method: MethodDescription
    }

    /// Every (service, method) the instances serve, and which instances serve each; the
    /// same name with other types on some instances is a row of its own.
    func rows(service only: String? = nil) -> [(row: Row, instances: [String])] {
        var served: [Row: [String]] = [:]
        for entry in entries {
            for service in entry.instance.services where only == nil || service == only {
                for method in entry.description?.methods ?? [] where Self.service(of: method.name) == service {
                    served[Row(service: service, method: method), default: []].append(entry.instance.node)
                }
            }
        }
        return served.map { ($0.key, $0.value.sorted()) }
            .sorted { ($0.row.service, $0.row.method.name, $0.instances.joined(separator: ",")) <
                      ($1.row.service, $1.row.method.name, $1.instances.joined(separator: ",")) }
    }

    /// Instances of `service` (of any if nil) that did not describe themselves, and why.
    func silent(service only: String? = nil) -> [Entry] {
        entries.filter { entry in entry.description == nil && (only == nil || entry.instance.services.contains(only ?? "")) }
    }

    /// `kv` for `kv.get`.
    static func service(of name: String) -> String {
        name.split(separator: ".", maxSplits: 1).first.map(String.init) ?? name
    }
}

/// Rows of text in columns two spaces apart.
func columns(_ table: [[String]]) -> [String] {
    guard let first = table.first else { return [] }
    let widths = (0..<first.count).map { column in table.map { $0[column].count }.max() ?? 0 }
    return table.map { row in
        zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
            .trimmingCharacters(in: .whitespaces)
    }
}
