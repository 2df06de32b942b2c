import ArgumentParser
import Foundation
import Logging
import ZMesh
import ZMeshEtcd

/// Where a command finds the mesh: a topology file (`--config`) or explicit endpoints.
struct MeshOptions: ParsableArguments {
    @Option(name: .long, help: "A topology file, such as topologies/brokerless.yaml ($ZMESH_CONFIG).")
    var config: String?

    @Option(name: .long, help: "A service endpoint to call directly instead, such as tcp://127.0.0.1:5601; repeat for more.")
    var endpoint: [String] = []

    @Option(name: .long, help: "With CURVE on: the client key pair to use, by name in the file's key directory ($ZMESH_CLIENT_KEY; default: the file's first client).")
    var key: String?

    var configPath: String? { config ?? ProcessInfo.processInfo.environment["ZMESH_CONFIG"] }

    func validate() throws {
        if configPath != nil && !endpoint.isEmpty {
            throw ValidationError("give either --config or --endpoint, not both")
        }
        if configPath == nil && endpoint.isEmpty {
            throw ValidationError("say where the mesh is: --config FILE (a topology file) or --endpoint tcp://HOST:PORT")
        }
        for value in endpoint {
            if let problem = Endpoint.problem(with: value, allowWildcardPort: false) {
                throw ValidationError("--endpoint \(value): \(problem)")
            }
        }
    }

    /// The topology file, loaded; exits 78 with the file's line and key on a bad one.
    func loadTopology() throws -> Topology? {
        guard let path = configPath else { return nil }
        do {
            return try Topology.load(path: path)
        } catch {
            printError("zmesh: \(error)")
            throw ExitCode(ExitCodes.configuration)
        }
    }

    var clientKey: String? { key ?? ProcessInfo.processInfo.environment["ZMESH_CLIENT_KEY"] }

    /// A client of the mesh, traced when `ZMESH_TRACER` says so, timed with `metrics`.
    func makeClient(logger: Logger, metrics: Bool = false, configure: (inout MeshClient.Configuration) -> Void = { _ in }) throws -> MeshClient {
        let interceptors = try CommandObservability.clientInterceptors(metrics: metrics)
        if let topology = try loadTopology() {
            do {
                return try MeshClient(topology: topology, logger: logger, clientKey: clientKey,
                                      directory: topology.etcdDirectory()) { configuration in
                    configuration.interceptors = interceptors
                    configure(&configuration)
                }
            } catch let error as SecurityError {
                printError("zmesh: \(error)")
                throw ExitCode(ExitCodes.configuration)
            }
        }
        var configuration = MeshClient.Configuration(discovery: .endpoints(endpoint))
        configuration.interceptors = interceptors
        configure(&configuration)
        return try MeshClient(configuration: configuration, logger: logger)
    }
}
