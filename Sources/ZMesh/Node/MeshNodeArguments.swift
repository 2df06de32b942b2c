extension MeshNode {
    /// The arguments `scripts/mesh-up.sh` gives a node program named by a topology file:
    /// `--node NAME --config FILE` (the file also from `$ZMESH_CONFIG`).
    ///
    /// ```swift
    /// let arguments = try MeshNode.Arguments(CommandLine.arguments)
    /// let topology = try Topology.load(path: arguments.config)
    /// ```
    ///
    /// Deprecated: it ignores what it does not know and has no logging flags. Module
    /// ZMeshNodeProgram's `NodeOptions` takes the same command line as `zmesh node` (an
    /// unknown flag is an error naming it), and `NodeProgram.run` drains on SIGTERM and SIGINT.
    @available(*, deprecated, message: "use NodeOptions (module ZMeshNodeProgram), or NodeProgram.run, which parses it")
    public struct Arguments: Sendable {
        /// The node's name in the file.
        public let node: String
        /// The topology file.
        public let config: String

        /// Reads `--node` and `--config` from a command line (the program name first).
        public init(_ commandLine: [String], environment: [String: String] = [:]) throws(ConfigurationError) {
            var node: String?
            var config: String? = environment["ZMESH_CONFIG"]
            var index = 1
            while index < commandLine.count {
                let argument = commandLine[index]
                let value = index + 1 < commandLine.count ? commandLine[index + 1] : nil
                switch argument {
                case "--node": node = value; index += 2
                case "--config": config = value; index += 2
                default: index += 1
                }
            }
            guard let node, !node.isEmpty, let config, !config.isEmpty else {
                throw ConfigurationError("usage: \(commandLine.first ?? "node") --node NAME --config TOPOLOGY_FILE")
            }
            self.node = node
            self.config = config
        }
    }
}
