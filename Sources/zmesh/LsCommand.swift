import ArgumentParser
import Foundation
import ZMesh
import ZMeshNodeProgram

/// `zmesh ls --config FILE`: every service of a mesh, its methods, their kinds and types.
struct LsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List every service of a mesh, its methods, their kinds and types, and the nodes that serve them.",
        discussion: """
            Asks the file's registries (or its etcd) for the live instances, then each instance for \
            its description (mesh.describe). A method whose types differ between instances (a rolling \
            upgrade half done) shows once per variant. Types are those of methods registered typed \
            (MeshMethod, or a Codable handler); "bytes" for raw handlers.

            Examples:

              zmesh ls --config topologies/brokerless.yaml
              zmesh ls --config topologies/brokered.yaml --json
            """)

    @OptionGroup var options: InventoryOptions

    func run() async throws {
        let inventory = try await options.load(label: "zmesh.ls")
        if options.json {
            printJSON(inventory.entries.compactMap(\.description))
        } else {
            var table = [["SERVICE", "METHOD", "KIND", "REQUEST", "REPLY", "NODES"]]
            for (row, nodes) in inventory.rows() {
                table.append([row.service, row.method.name, row.method.kind.rawValue, row.method.request ?? "bytes",
                              row.method.reply ?? "bytes", nodes.joined(separator: ", ")])
            }
            columns(table).forEach { print($0) }
        }
        reportSilent(inventory.silent(), json: options.json)
    }
}

/// `zmesh describe SERVICE --config FILE`: one service's methods and the nodes that serve it.
struct DescribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Show one service's methods, their kinds and types, and the nodes that serve each.",
        discussion: """
            Exits 4 if no live instance serves the service.

            Examples:

              zmesh describe greeter --config topologies/greeter.yaml
              zmesh describe echo --config topologies/brokered.yaml --json
            """)

    @Argument(help: "The service, such as greeter or kv.")
    var service: String

    @OptionGroup var options: InventoryOptions

    func run() async throws {
        let inventory = try await options.load(label: "zmesh.describe")
        let serving = inventory.entries.filter { $0.instance.services.contains(service) }
        guard !serving.isEmpty else {
            let known = Set(inventory.entries.flatMap(\.instance.services)).sorted()
            let error = MeshError(.unavailable, service: service,
                                  message: "no live instance serves \(service) (live services: \(known.isEmpty ? "none" : known.joined(separator: ", ")))")
            throw failure(error, json: options.json)
        }
        if options.json {
            printJSON(serving.compactMap(\.description))
        } else {
            print("\(service): \(serving.count) live instance\(serving.count == 1 ? "" : "s") (\(serving.map(\.instance.node).joined(separator: ", ")))")
            var table = [["METHOD", "KIND", "REQUEST", "REPLY", "NODES"]]
            for (row, nodes) in inventory.rows(service: service) {
                table.append([row.method.name, row.method.kind.rawValue, row.method.request ?? "bytes",
                              row.method.reply ?? "bytes", nodes.count == serving.count ? "all" : nodes.joined(separator: ", ")])
            }
            columns(table).forEach { print($0) }
        }
        reportSilent(inventory.silent(service: service), json: options.json)
    }
}

/// What `ls` and `describe` take: the file, the client key with CURVE on, JSON or text, logging.
struct InventoryOptions: ParsableArguments {
    /// `--config`.
    @OptionGroup var topologyFile: TopologyFileOptions

    @Flag(name: .long, help: "Print the nodes' descriptions as JSON (and errors as JSON lines on standard error).")
    var json = false

    @Option(name: .long, help: "With CURVE on: the client key pair to use ($ZMESH_CLIENT_KEY; default: the file's first client).")
    var key: String?

    @OptionGroup var logging: LoggingOptions

    /// The mesh's live instances and their descriptions; exit 78 naming a bad file or key,
    /// exit 4 (with the error, as JSON with `--json`) when no registry or etcd answers.
    func load(label: String) async throws -> MeshInventory {
        let topology = try topologyFile.loadTopology()
        let logger = try logging.makeLogger(label: label, defaultLevel: .error)
        let curve = try topology.commandLineCurve(key: key)
        do {
            return try await MeshInventory.load(topology: topology, curve: curve, logger: logger)
        } catch let error as MeshError {
            throw failure(error, json: json)
        }
    }
}

private func printJSON(_ descriptions: [NodeDescription]) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    print(String(decoding: (try? encoder.encode(descriptions)) ?? Data(), as: UTF8.self))
}

/// Instances that did not answer `mesh.describe`, on standard error (with `json`, a JSON
/// object a line: `{"endpoint":...,"node":...,"problem":...}`).
private func reportSilent(_ entries: [MeshInventory.Entry], json: Bool) {
    for entry in entries {
        let problem = entry.problem ?? "no answer"
        if json {
            let fields = ["node": entry.instance.node, "endpoint": entry.instance.endpoint, "problem": "did not describe itself: \(problem)"]
            let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            printError(String(decoding: data, as: UTF8.self))
        } else {
            printError("zmesh: \(entry.instance.node) (\(entry.instance.endpoint)) did not describe itself: \(problem)")
        }
    }
}
