import ArgumentParser
import Foundation
import Logging
import ZMesh
import ZMeshNodeProgram

/// `zmesh ping`: asks one node `mesh.health`; the exit code says live, draining or why not.
struct PingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ping",
        abstract: "Ask one node whether it is live: a probe for systemd, Kubernetes or scripts.",
        discussion: """
            Prints the node's health on one line (or as JSON with --json). Exit codes: 0 live, \
            \(ExitCodes.draining) draining (finishing what it holds, refusing new work), 3 no answer in \
            time, 4 nothing answers at the endpoint, 12 refused (CURVE).

            Examples:

              zmesh ping echo-1 --config topologies/brokerless.yaml
              zmesh ping --endpoint tcp://127.0.0.1:5601
            """)

    @Argument(help: "The node's name in the topology file (with --config).")
    var node: String?

    @Option(name: .long, help: "The topology file that names the node ($ZMESH_CONFIG).")
    var config: String?

    @Option(name: .long, help: "The node's endpoint, instead of a name and a file.")
    var endpoint: String?

    @Option(name: .long, help: "With CURVE on: the client key pair to use, by name in the file's key directory ($ZMESH_CLIENT_KEY).")
    var key: String?

    @Option(name: .long, help: "Seconds to wait for the answer.")
    var timeout: Double = 2

    @Flag(name: .long, help: "Print the health as JSON.")
    var json = false

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        try checkSeconds(timeout, "--timeout")
        let configPath = config ?? ProcessInfo.processInfo.environment["ZMESH_CONFIG"]
        switch (node, endpoint) {
        case (nil, nil): throw ValidationError("say which node: NAME --config FILE, or --endpoint tcp://HOST:PORT")
        case (.some, .some): throw ValidationError("give either a node name or --endpoint, not both")
        case (.some, nil) where configPath == nil: throw ValidationError("a node name needs its topology file: --config FILE")
        case (nil, .some(let value)):
            if let problem = Endpoint.problem(with: value, allowWildcardPort: false) {
                throw ValidationError("--endpoint \(value): \(problem)")
            }
        default: break
        }
    }

    func run() async throws {
        let logger = try logging.makeLogger(label: "zmesh.ping", defaultLevel: .error)
        var configuration = MeshClient.Configuration(discovery: .endpoints([]))
        if let node {
            let options = try MeshOptions.parse(config.map { ["--config", $0] } ?? [])
            guard let topology = try options.loadTopology() else { throw ValidationError("a node name needs --config FILE") }
            guard let found = topology.node(named: node) else {
                printError("zmesh: \(topology.path) has no node named \(node) (it has \(topology.nodes.map(\.name).joined(separator: ", ")))")
                throw ExitCode(ExitCodes.configuration)
            }
            configuration.discovery = .endpoints([Endpoint.connectable(Self.bind(of: found))])
            configuration.curve = try topology.commandLineCurve(key: key)
        } else if let endpoint {
            configuration.discovery = .endpoints([endpoint])
        }
        let client = try MeshClient(configuration: configuration, logger: logger)
        let options = CallOptions(timeout: .milliseconds(Int64(timeout * 1000)), maxAttempts: 1)
        let reply: [UInt8]
        do {
            reply = try await client.call(NodeHealth.name, [], options: options)
            await client.shutdown()
        } catch {
            await client.shutdown()
            throw failure(error, json: json)
        }
        guard let health = try? JSONDecoder().decode(NodeHealth.self, from: Data(reply)) else {
            printError("zmesh: the answer to \(NodeHealth.name) is not a node's health: \(String(decoding: reply.prefix(200), as: UTF8.self))")
            throw ExitCode(ExitCodes.code(for: .protocolError))
        }
        print(json ? String(decoding: reply, as: UTF8.self) : Self.line(health))
        if health.status == .draining { throw ExitCode(ExitCodes.draining) }
    }

    static func bind(of node: Topology.Node) -> String {
        switch node {
        case .registry(let registry): registry.bind
        case .broker(let broker): broker.bind
        case .service(let service): service.bind
        }
    }

    static func line(_ health: NodeHealth) -> String {
        let load = health.capacity.map { "\(health.load)/\($0)" } ?? "\(health.load)"
        return "\(health.node) \(health.role) \(health.status.rawValue) load \(load) up \(String(format: "%.1f", health.uptimeSeconds)) s version \(health.version)"
    }
}
