import ArgumentParser
import Foundation
import Logging
import ZMesh

/// `zmesh call`: one call, the reply body on stdout.
struct CallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Call a service and print the reply body.",
        discussion: """
            The reply body goes to stdout; a failure goes to stderr as one line, with an exit
            code per kind of error (\(ExitCodes.table))
            Examples:
              zmesh call echo hello --config topologies/brokerless.yaml
              zmesh call kv.put color=blue --config topologies/brokerless.yaml
              zmesh call kv.get color --config topologies/brokerless.yaml
              zmesh call echo hello --endpoint tcp://127.0.0.1:5601
            """)

    @Argument(help: "The name to call, such as echo or kv.get.")
    var service: String

    @Argument(help: "The request body (default: standard input when it is not a terminal, else empty).")
    var payload: String?

    @OptionGroup var mesh: MeshOptions

    @Option(name: .long, help: "Seconds to wait for the reply, retries included.")
    var timeout: Double = 5

    @Flag(name: .long, help: "Do not re-send the call to another instance if its instance dies.")
    var notIdempotent = false

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        try checkSeconds(timeout, "--timeout")
    }

    func run() async throws {
        let logger = try logging.makeLogger(label: "zmesh.call", defaultLevel: .warning)
        let body = try readPayload()
        let client = try mesh.makeClient(logger: logger)
        let options = CallOptions(timeout: .milliseconds(Int64(timeout * 1000)), idempotent: !notIdempotent)
        do {
            let reply = try await client.call(service, body, options: options)
            await client.shutdown()
            FileHandle.standardOutput.write(Data(reply))
            if isatty(1) != 0, reply.last != UInt8(ascii: "\n") { FileHandle.standardOutput.write(Data("\n".utf8)) }
        } catch {
            await client.shutdown()
            throw failure(error)
        }
    }

    private func readPayload() throws -> [UInt8] {
        if let payload { return Array(payload.utf8) }
        if isatty(0) != 0 { return [] }
        return Array(FileHandle.standardInput.readDataToEndOfFile())
    }
}
