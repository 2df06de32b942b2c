import ArgumentParser
import ZMesh
import ZMeshNodeProgram

@main
struct ZMeshCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zmesh",
        abstract: "Run ZMesh nodes and call services by name over ZeroMQ.",
        discussion: """
            Exit codes: 0 success; \(ExitCodes.table)

            Shell completion: zmesh --generate-completion-script bash (or zsh, fish).
            """,
        version: ZMeshVersion.current,
        subcommands: [NodeCommand.self, CallCommand.self, StatusCommand.self, LsCommand.self, DescribeCommand.self, BenchCommand.self, LoadCommand.self, KeygenCommand.self, NodesCommand.self, ServeCommand.self, PingCommand.self]
    )

    /// Unblocks SIGTERM and SIGINT first thing. A signal mask is inherited across exec, and a
    /// parent that starts zmesh from a thread blocking them (Foundation's Process called from a
    /// Swift concurrency thread does) would otherwise make the graceful shutdown unreachable:
    /// the node would sit out every SIGTERM until a SIGKILL.
    static func main() async {
        ShutdownSignals.unblock()
        await main(nil)
    }
}
