import ArgumentParser
import Logging
import ServiceLifecycle
import ZMesh
import ZMeshNodeProgram
import ZMeshPrometheus

/// `--metrics HOST:PORT` for `zmesh node` and `zmesh serve`: serve `GET /metrics` for
/// Prometheus beside the node (module ZMeshPrometheus).
struct MetricsOptions: ParsableArguments {
    /// `--metrics`.
    @Option(name: .long, help: ArgumentHelp(
        "Serve GET /metrics for Prometheus at HOST:PORT, such as 127.0.0.1:9601 (0.0.0.0:9601 for every interface). For zmesh node it replaces the node's metrics: address in the topology file.",
        valueName: "host:port"))
    var metrics: String?

    func validate() throws {
        if let metrics, let problem = MetricsAddress.problem(with: metrics) {
            throw ValidationError("--metrics \(metrics): \(problem)")
        }
    }

    /// The endpoint serving this process's metrics at `--metrics`, else at `fallback` (the
    /// topology file's `metrics:` for the node), else nil. When there is one, swift-metrics is
    /// bootstrapped with Prometheus first: call this before making the node, whose metrics
    /// would otherwise go nowhere.
    func makeEndpoint(fallback: String?, logger: Logger) throws -> MetricsEndpoint? {
        guard let text = metrics ?? fallback else { return nil }
        let address: MetricsAddress
        do {
            address = try MetricsAddress(parsing: text)
        } catch {
            printError("zmesh: \(error)")
            throw ExitCode(ExitCodes.configuration)
        }
        return MetricsEndpoint(address: address, registry: MeshPrometheus.bootstrap(), logger: logger)
    }

    /// Runs `node` (and `endpoint`, if any) in one `ServiceGroup` until SIGTERM or SIGINT. On
    /// those the node drains first, scraped all along, then the endpoint stops. An endpoint
    /// that cannot listen stops the node and exits with the configuration code, naming the
    /// address.
    static func run(_ node: any Service, with endpoint: MetricsEndpoint?, logger: Logger) async throws {
        // A group stops its services in reverse order: the node first.
        do {
            try await NodeProgram.runUntilShutdown((endpoint.map { [$0] } ?? []) + [node], logger: logger)
        } catch let error as MetricsEndpointError {
            printError("zmesh: \(error)")
            throw ExitCode(ExitCodes.configuration)
        }
    }
}
