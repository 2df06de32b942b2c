import ArgumentParser
import Logging
import ServiceLifecycle
import ZMesh
import ZMeshNodeProgram
import ZMeshBuiltins

/// `zmesh serve`: host built-in services at an endpoint until SIGTERM or SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Host built-in services (\(BuiltinServices.names.joined(separator: ", "))) at an endpoint.",
        discussion: """
            Runs until SIGTERM or SIGINT, then stops taking calls and finishes those it holds.

            With --metrics HOST:PORT it also serves GET /metrics there for Prometheus.
            """)

    @Option(name: .long, help: "Endpoint to bind, such as tcp://127.0.0.1:5601.")
    var bind: String

    @Option(name: .customLong("service"), help: "A built-in service to host; repeat for more (default: echo and kv).")
    var services: [String] = []

    @Option(name: .long, help: "This node's name, for logs and echo.whoami.")
    var name: String = "serve-1"

    @Option(name: .long, help: "Most handlers running at once.")
    var maxConcurrency: Int = 256

    /// `--metrics`.
    @OptionGroup var metricsOptions: MetricsOptions

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if let problem = Endpoint.problem(with: bind, allowWildcardPort: true) {
            throw ValidationError("--bind \(bind): \(problem)")
        }
        guard maxConcurrency >= 1 else { throw ValidationError("--max-concurrency must be at least 1") }
    }

    func run() async throws {
        let logger = try logging.makeLogger(label: "zmesh.serve", defaultLevel: .info)
        let handlers: ServiceHandlers
        do {
            handlers = try BuiltinServices.handlers(for: services.isEmpty ? ["echo", "kv"] : services, nodeName: name)
        } catch {
            printError("zmesh: \(error)")
            throw ExitCode(ExitCodes.configuration)
        }
        let metrics = try metricsOptions.makeEndpoint(fallback: nil, logger: logger)
        var configuration = ServiceNode.Configuration(name: name, bind: bind)
        configuration.maxConcurrentHandlers = maxConcurrency
        configuration.onListening = ReadyFile.announce
        configuration.interceptors = try CommandObservability.serverInterceptors(metrics: metrics != nil)
        let node = try ServiceNode(configuration: configuration, handlers: handlers, logger: logger)
        try await MetricsOptions.run(node, with: metrics, logger: logger)
    }
}
