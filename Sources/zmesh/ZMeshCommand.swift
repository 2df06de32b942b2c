import ArgumentParser

@main
struct ZMeshCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zmesh",
        abstract: "Run ZMesh nodes and call services by name over ZeroMQ.",
        discussion: """
            Exit codes: 0 success; \(ExitCodes.table)
            """,
        subcommands: [ServeCommand.self, CallCommand.self, BenchCommand.self]
    )
}
