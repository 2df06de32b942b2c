import ArgumentParser
import Foundation
import Logging
import ZMesh
import ZMeshNodeProgram
import ZMeshEtcd

/// `zmesh status --config FILE`: every service, its instances, health, load, last heartbeat.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each service, its instances, their health, load and last heartbeat.",
        discussion: """
            Asks any live registry of the file (or its etcd). With --wait, waits until every node of the file
            is up (each service node live in the registry), then prints; exits 4 naming the nodes
            still missing if they are not up in time (scripts/mesh-up.sh uses this).
            """)

    /// `--config`.
    @OptionGroup var topologyFile: TopologyFileOptions

    @Option(name: .long, help: "Wait up to this many seconds for every node of the file to be up.")
    var wait: Double?

    @Flag(name: .long, help: "Print the registry's answer as JSON.")
    var json = false

    @Option(name: .long, help: "With CURVE on: the client key pair to use ($ZMESH_CLIENT_KEY; default: the file's first client).")
    var key: String?

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let topology = try topologyFile.loadTopology()
        let logger = try logging.makeLogger(label: "zmesh.status", defaultLevel: .error)
        // Registries know every instance, whatever the topology; brokers are asked separately.
        let curve = try topology.commandLineCurve(key: key)
        var registryConfiguration = MeshClient.Configuration(discovery: .registries(topology.registryAddresses))
        registryConfiguration.curve = curve
        let client = try MeshClient(configuration: registryConfiguration, logger: logger)
        let brokers = try topology.brokers.map { broker in
            var configuration = MeshClient.Configuration(discovery: .endpoints([Endpoint.connectable(broker.bind)]))
            configuration.curve = curve
            return (broker.name, try MeshClient(configuration: configuration, logger: logger))
        }
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int64((wait ?? 0) * 1000)))
        var answer: LookupReply?
        var failure: MeshError?
        var missing: [String] = []
        var brokerViews: [(String, BrokerStats?)] = []
        repeat {
            if let directory = topology.etcdDirectory() {
                do {
                    answer = LookupReply(registry: directory.name, instances: try await directory.instances())
                    failure = nil
                } catch {
                    failure = MeshError(.unavailable, service: "mesh.status", message: "\(error)")
                }
            } else {
                do {
                    let body = try await client.call("mesh.status", [], options: CallOptions(timeout: .seconds(2)))
                    answer = try JSONDecoder().decode(LookupReply.self, from: Data(body))
                    failure = nil
                } catch let error as MeshError {
                    failure = error
                }
            }
            let live = Set(answer?.instances.filter { $0.health == .live }.map(\.node) ?? [])
            missing = topology.services.map(\.name).filter { !live.contains($0) }
            brokerViews = []
            for (name, brokerClient) in brokers {
                let view = try? await brokerClient.call("mesh.broker", [], options: CallOptions(timeout: .seconds(1)))
                    .decoded(as: BrokerStats.self)
                brokerViews.append((name, view))
                // Ready when it reaches an instance of every service the file names.
                if view.map({ stats in topology.serviceNames.allSatisfy { (stats.readyByService[$0] ?? 0) > 0 } }) != true {
                    missing.append(name)
                }
            }
            if wait == nil || (failure == nil && missing.isEmpty) { break }
            try await Task.sleep(for: .milliseconds(100))
        } while ContinuousClock.now < deadline
        await client.shutdown()
        for (_, brokerClient) in brokers { await brokerClient.shutdown() }

        guard let answer else {
            throw failure.map { self.failure($0) } ?? ExitCode(4)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(answer), as: UTF8.self))
        } else {
            print(render(answer, topology: topology, missing: missing, brokers: brokerViews))
        }
        if wait != nil && !missing.isEmpty {
            printError("zmesh: not up after \(wait ?? 0) s: \(missing.joined(separator: ", "))")
            throw ExitCode(4)
        }
    }

    private func failure(_ error: MeshError) -> ExitCode { zmesh.failure(error) }

    private func render(_ answer: LookupReply, topology: Topology, missing: [String], brokers: [(String, BrokerStats?)]) -> String {
        var lines = ["mesh \(topology.path) (\(topology.kind.rawValue)); \(answer.registry) answered"]
        var rows: [(service: String, instance: InstanceInfo)] = []
        for instance in answer.instances {
            for service in instance.services { rows.append((service, instance)) }
        }
        rows.sort { a, b in
            if a.service != b.service { return a.service < b.service }
            let aLive = a.instance.health == InstanceInfo.Health.live
            let bLive = b.instance.health == InstanceInfo.Health.live
            if aLive != bLive { return aLive }
            return a.instance.node < b.instance.node
        }
        var table = [["SERVICE", "NODE", "INSTANCE", "ENDPOINT", "HEALTH", "LOAD", "LAST HEARTBEAT"]]
        for (service, instance) in rows {
            table.append([service, instance.node, instance.instance, instance.endpoint, instance.health.rawValue,
                          "\(instance.load)/\(instance.capacity)", "\(instance.lastHeartbeatMillisecondsAgo) ms ago"])
        }
        let widths = (0..<table[0].count).map { column in table.map { $0[column].count }.max() ?? 0 }
        for row in table {
            lines.append(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces))
        }
        let liveServices = Set(rows.filter { $0.instance.health == InstanceInfo.Health.live }.map(\.service))
        for service in topology.serviceNames where !liveServices.contains(service) {
            lines.append("\(service): no live instance")
        }
        for (name, view) in brokers {
            if let view {
                let services = view.readyByService.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                lines.append("\(name): up; reaches \(services.isEmpty ? "no instance" : services); \(view.inFlight) in flight, \(view.queued) queued")
            } else {
                lines.append("\(name): not answering")
            }
        }
        if !missing.isEmpty { lines.append("nodes of the file not up: \(missing.joined(separator: ", "))") }
        return lines.joined(separator: "\n")
    }
}

extension [UInt8] {
    func decoded<T: Decodable>(as type: T.Type) throws -> T {
        try JSONDecoder().decode(type, from: Data(self))
    }
}
