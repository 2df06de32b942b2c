import ArgumentParser
import Logging
import ServiceLifecycle
import ZMesh
import ZMeshBuiltins
import ZMeshEtcd
import ZMeshNodeProgram

/// `zmesh node NAME --config FILE`: run one node of a topology file.
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Run one node (registry, broker or service) of a topology file.",
        discussion: """
            Service nodes host the built-in services the file lists for them. Runs until SIGTERM or \
            SIGINT: a service node then leaves the registries at once, stops taking calls, finishes \
            those it holds (up to its grace period) and exits 0.

            With metrics: HOST:PORT on the node's entry in the file (or --metrics), it also serves \
            GET /metrics there for Prometheus.

            scripts/mesh-up.sh starts every node of a file this way. Programs of your own get the \
            same flags from ZMeshNodeProgram's NodeOptions (docs/DEPLOYMENT.md).
            """)

    /// The node's name, `--config`, `--log-level`, `--log-format`: what every node program
    /// shares.
    @OptionGroup var node: NodeOptions

    /// `--metrics`.
    @OptionGroup var metricsOptions: MetricsOptions

    func run() async throws {
        let name = node.nodeName
        let topology: Topology
        do {
            topology = try node.loadTopology()
        } catch let error as TopologyError {
            printError("zmesh: \(error)")
            throw ExitCode(ExitCodes.configuration)
        }
        let logger = try node.makeLogger(label: "zmesh.node")
        let service: any Service
        let metrics = try metricsOptions.makeEndpoint(fallback: topology.node(named: name)?.metrics, logger: logger)
        do {
            let handlers = try BuiltinServices.handlers(forNode: name, in: topology)
            service = try MeshNode.make(named: name, in: topology, handlers: handlers, logger: logger,
                                        onListening: ReadyFile.announce,
                                        interceptors: try CommandObservability.serverInterceptors(metrics: metrics != nil),
                                        tracer: try CommandObservability.tracer(),
                                        directory: topology.etcdDirectory())
        } catch let error as ConfigurationError {
            printError("zmesh: node \(name): \(error)")
            throw ExitCode(ExitCodes.configuration)
        } catch let error as SecurityError {
            printError("zmesh: node \(name): \(error)")
            throw ExitCode(ExitCodes.configuration)
        }
        try await MetricsOptions.run(service, with: metrics, logger: logger)
        logger.info("node stopped")
    }
}
