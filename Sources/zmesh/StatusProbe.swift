import Foundation
import Logging
import ZMesh
import ZMeshEtcd

/// One look at a mesh for `zmesh status`: any live registry's (or etcd's) instances, and each
/// broker's view. Holds its clients from one look to the next (`--wait`, `--watch`).
final class StatusProbe: Sendable {
    /// What one look found.
    struct View: Sendable {
        /// The registry's (or etcd's) answer; nil if none answered.
        var answer: LookupReply?
        /// Why no registry answered, if none did.
        var failure: MeshError?
        /// Nodes of the file not up: service nodes not live, brokers that reach no instance
        /// of some service of the file, or do not answer.
        var missing: [String] = []
        /// Each broker's name and its stats, nil where it did not answer.
        var brokers: [(name: String, stats: BrokerStats?)] = []
    }

    let topology: Topology
    private let registries: MeshClient
    private let brokers: [(name: String, client: MeshClient)]

    init(topology: Topology, curve: CurveSettings?, logger: Logger) throws {
        self.topology = topology
        // Registries know every instance, whatever the topology; brokers are asked separately.
        var registryConfiguration = MeshClient.Configuration(discovery: .registries(topology.registryAddresses))
        registryConfiguration.curve = curve
        registries = try MeshClient(configuration: registryConfiguration, logger: logger)
        brokers = try topology.brokers.map { broker in
            var configuration = MeshClient.Configuration(discovery: .endpoints([Endpoint.connectable(broker.bind)]))
            configuration.curve = curve
            return (broker.name, try MeshClient(configuration: configuration, logger: logger))
        }
    }

    /// Asks the registries (or etcd) and every broker once.
    func look() async -> View {
        var view = View()
        if let directory = topology.etcdDirectory() {
            do {
                view.answer = LookupReply(registry: directory.name, instances: try await directory.instances())
            } catch {
                view.failure = MeshError(.unavailable, service: "mesh.status", message: "\(error)")
            }
        } else {
            do {
                let body = try await registries.call("mesh.status", [], options: CallOptions(timeout: .seconds(2)))
                view.answer = try JSONDecoder().decode(LookupReply.self, from: Data(body))
            } catch let error as MeshError {
                view.failure = error
            } catch {
                view.failure = MeshError(.protocolError, service: "mesh.status", message: "not a registry's answer: \(error)")
            }
        }
        let live = Set(view.answer?.instances.filter { $0.health == .live }.map(\.node) ?? [])
        view.missing = topology.services.map(\.name).filter { !live.contains($0) }
        for (name, client) in brokers {
            let stats = try? await client.call("mesh.broker", [], options: CallOptions(timeout: .seconds(1)))
                .decoded(as: BrokerStats.self)
            view.brokers.append((name, stats))
            // Ready when it reaches an instance of every service the file names.
            if stats.map({ stats in topology.serviceNames.allSatisfy { (stats.readyByService[$0] ?? 0) > 0 } }) != true {
                view.missing.append(name)
            }
        }
        return view
    }

    /// Closes every client.
    func shutdown() async {
        await registries.shutdown()
        for (_, client) in brokers { await client.shutdown() }
    }
}

extension [UInt8] {
    func decoded<T: Decodable>(as type: T.Type) throws -> T {
        try JSONDecoder().decode(type, from: Data(self))
    }
}
