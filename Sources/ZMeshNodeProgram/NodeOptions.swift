public import ArgumentParser
import Foundation
public import Logging
public import ZMesh

/// The flags and environment of `zmesh node`, for any executable that runs a node of a
/// topology file: the node's name, `--config` (else `$ZMESH_CONFIG`), `--log-level` and
/// `--log-format` (else `$ZMESH_LOG_LEVEL` and `$ZMESH_LOG_FORMAT`).
///
/// The name is an argument (`zmesh node echo-1 --config FILE`) or `--node NAME`, the form
/// `scripts/mesh-up.sh` gives a program named by `executable:`. An unknown flag is a usage
/// error that names it (exit 64). ``NodeProgram/run(label:_:)`` parses these and runs the
/// node; a command of one's own can take them as an option group:
///
/// ```swift
/// struct MyNode: AsyncParsableCommand {
///     @OptionGroup var node: NodeOptions
///     func run() async throws {
///         let topology = try node.loadTopology()
///         let logger = try node.makeLogger(label: "my-node")
///         ...
///     }
/// }
/// ```
public struct NodeOptions: ParsableArguments {
    /// The node's name in the topology file, as an argument.
    @Argument(help: "The node's name in the topology file, such as echo-1 (or --node NAME).")
    public var name: String?

    /// The node's name in the topology file, as `--node NAME`.
    @Option(name: .customLong("node"), help: ArgumentHelp("The node's name, as scripts/mesh-up.sh gives it to a program of its own.", valueName: "name"))
    public var nodeFlag: String?

    /// `--config`: the topology file.
    @Option(name: .long, help: "The topology file ($ZMESH_CONFIG).")
    public var config: String?

    /// `--log-level` and `--log-format`.
    @OptionGroup public var logging: LoggingOptions

    /// Options as before parsing: no name, no file.
    public init() {}

    /// The node's name: the argument, else `--node` (``validate()`` checks there is one).
    public var nodeName: String { name ?? nodeFlag ?? "" }

    /// The topology file: `--config`, else `$ZMESH_CONFIG`.
    public var configPath: String? {
        if let config, !config.isEmpty { return config }
        guard let path = ProcessInfo.processInfo.environment["ZMESH_CONFIG"], !path.isEmpty else { return nil }
        return path
    }

    /// Checks that there is exactly one name and a topology file.
    public func validate() throws {
        switch (name, nodeFlag) {
        case (nil, nil):
            throw ValidationError("say which node: NAME, or --node NAME")
        case (.some(let argument), .some(let flag)) where argument != flag:
            throw ValidationError("the node is named twice, \(argument) and --node \(flag): give one")
        default:
            break
        }
        if nodeName.isEmpty { throw ValidationError("the node's name is empty") }
        if configPath == nil {
            throw ValidationError("say which topology file: --config FILE (or $ZMESH_CONFIG)")
        }
    }

    /// The topology file, loaded (with the environment's overrides, such as
    /// `ZMESH_PORT_OFFSET`).
    ///
    /// - Throws: `ValidationError` when no file is named; the file's `TopologyError` (its
    ///   line and key) when it is bad.
    public func loadTopology() throws -> Topology {
        guard let path = configPath else {
            throw ValidationError("say which topology file: --config FILE (or $ZMESH_CONFIG)")
        }
        return try Topology.load(path: path)
    }

    /// Bootstraps logging as the flags and environment say (default level info) and returns
    /// a logger labelled `label` whose records carry `zmesh.node`.
    ///
    /// - Throws: `ValidationError` naming an unknown level or format.
    public func makeLogger(label: String, defaultLevel: Logger.Level = .info) throws -> Logger {
        var logger = try logging.makeLogger(label: label, defaultLevel: defaultLevel)
        logger[metadataKey: "zmesh.node"] = "\(nodeName)"
        return logger
    }
}
