import ArgumentParser

@main
struct ZMeshCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zmesh",
        abstract: "Run ZMesh nodes and call services by name over ZeroMQ.",
        discussion: """
            Exit codes: 0 success; \(ExitCodes.table)
            """,
        subcommands: [NodeCommand.self, CallCommand.self, StatusCommand.self, BenchCommand.self, LoadCommand.self, KeygenCommand.self, NodesCommand.self, ServeCommand.self]
    )
}
