import ArgumentParser
import Foundation
import Logging
import ZMesh
import ZMeshNodeProgram

/// `zmesh call`: one call, the reply body on stdout.
struct CallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Call a service and print the reply body.",
        discussion: """
            The request body is the PAYLOAD argument, or the contents of --file PATH (--file - \
            reads standard input), or else standard input when it is not a terminal.

            The reply body goes to stdout. A failure goes to stderr as one line (with --json, \
            one JSON object: code, exit, message, service, mayHaveRun, and applicationCode for \
            application errors), with an exit code per kind of error: \(ExitCodes.table)

            With --stream, the call is a server stream: each message is printed as a line, as it \
            comes (with --json, one JSON object a line); the timeout covers the whole stream \
            (default 1 hour). With --client-stream, each line of standard input is one message of \
            a client stream, read as the service takes them, and the reply is printed; with both \
            flags, a bidirectional stream.

            Examples:

              zmesh call echo hello --config topologies/brokerless.yaml
              zmesh call kv.put color=blue --config topologies/brokerless.yaml
              zmesh call kv.get color --config topologies/brokerless.yaml
              zmesh call echo --file request.bin --config topologies/brokerless.yaml
              zmesh call echo hello --endpoint tcp://127.0.0.1:5601
              zmesh call kv.get color --metadata tenant=acme --config topologies/brokered.yaml
              zmesh call kv.get nothing --json --config topologies/brokerless.yaml
              zmesh call stream.count 100 --stream --config topologies/brokerless.yaml
              seq 1 100 | zmesh call stream.sum --client-stream --config topologies/brokered.yaml
              (echo a; echo b) | zmesh call stream.echo --client-stream --stream --config ...
            """)

    @Argument(help: "The name to call, such as echo or kv.get.")
    var service: String

    @Argument(help: "The request body (default: --file, else standard input when it is not a terminal, else empty).")
    var payload: String?

    @Option(name: .long, help: ArgumentHelp("Read the request body from this file; - reads standard input.", valueName: "path"))
    var file: String?

    @OptionGroup var mesh: MeshOptions

    @Option(name: .long, help: "Seconds to wait for the reply, retries included (default 5; with --stream, for the whole stream: 3600).")
    var timeout: Double?

    @Flag(name: .long, help: "Call a server-streaming method: print each message of the stream as a line.")
    var stream = false

    @Flag(name: .long, help: "Call a client-streaming method: send each line of standard input as a message (with --stream: a bidirectional stream).")
    var clientStream = false

    @Flag(name: .long, help: "Do not re-send the call to another instance if its instance dies.")
    var notIdempotent = false

    @Option(name: .long, help: ArgumentHelp("Metadata to send, as KEY=VALUE; repeat for more.", valueName: "key=value"))
    var metadata: [String] = []

    @Option(name: .long, help: "A W3C trace context (00-TRACEID-SPANID-FLAGS) to continue: sent as traceparent metadata, so the service's span joins that trace.")
    var traceparent: String?

    @Flag(name: .long, help: "Print the reply's trailing metadata to stderr, one KEY: VALUE per line.")
    var showMetadata = false

    @Flag(name: .long, help: "On failure, print the error to stderr as one JSON object (code, exit, message, service, mayHaveRun).")
    var json = false

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if let timeout { try checkSeconds(timeout, "--timeout") }
        if clientStream, payload != nil || file != nil {
            throw ValidationError("--client-stream reads its messages from standard input, one a line: give no payload or --file")
        }
        if let file {
            if payload != nil { throw ValidationError("give the request body either as PAYLOAD or with --file, not both") }
            if file != "-" && !FileManager.default.isReadableFile(atPath: file) {
                throw ValidationError("--file \(file): no such file, or not readable")
            }
        }
        _ = try requestMetadata()
    }

    /// `--metadata` and `--traceparent` as metadata, or a usage error naming the bad one.
    func requestMetadata() throws -> Metadata {
        var result = Metadata()
        for entry in metadata {
            guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex else {
                throw ValidationError("--metadata \(entry): expected KEY=VALUE")
            }
            let key = String(entry[..<equals])
            guard Metadata.isValidKey(key) else {
                throw ValidationError("--metadata \(entry): a key is 1 to 255 ASCII letters, digits, '-', '_' or '.'")
            }
            result.add(key, String(entry[entry.index(after: equals)...]))
        }
        if let traceparent {
            guard TraceParent(traceparent) != nil else {
                throw ValidationError("--traceparent \(traceparent): expected 00-<32 hex digits>-<16 hex digits>-<2 hex digits>, not all zeros")
            }
            result[TraceParent.key] = traceparent
        }
        return result
    }

    func run() async throws {
        let logger = try logging.makeLogger(label: "zmesh.call", defaultLevel: .warning)
        if clientStream { return try await runRequestStream(logger: logger) }
        let body = try readPayload()
        let client = try mesh.makeClient(logger: logger)
        let seconds = timeout ?? (stream ? 3600 : 5)
        let options = CallOptions(timeout: .milliseconds(Int64(seconds * 1000)), idempotent: !notIdempotent,
                                  metadata: try requestMetadata())
        if stream { return try await printStream(client.stream(service, body, options: options), client: client) }
        do {
            let full = try await client.call(service, request: MeshRequest(payload: body), options: options)
            let reply = full.payload
            await client.shutdown()
            if showMetadata { printMetadata(full.metadata) }
            FileHandle.standardOutput.write(Data(reply))
            if isatty(1) != 0, reply.last != UInt8(ascii: "\n") { FileHandle.standardOutput.write(Data("\n".utf8)) }
        } catch {
            await client.shutdown()
            if showMetadata { printMetadata(error.metadata) }
            throw failure(error, json: json)
        }
    }

    /// Each message as a line (with --json, a JSON object: `message`, or `message_base64`
    /// when it is not UTF-8), written a block at a time and whenever no next message is
    /// waiting (so a quiet stream's lines show as they come); a failure after some messages still exits
    /// with its error's code.
    func printStream(_ messages: MeshStream, client: MeshClient) async throws {
        var out: [UInt8] = []
        out.reserveCapacity(1 << 16)
        var iterator = messages.makeAsyncIterator()
        do {
            while let message = try await iterator.next() {
                if json { out.append(contentsOf: StreamLine.json(message)) } else { out.append(contentsOf: message) }
                out.append(UInt8(ascii: "\n"))
                // Out when 32 KiB are waiting, or when no next message is here yet: a quiet
                // stream's lines appear as they come, a fast one's a block at a time.
                if out.count >= 1 << 15 || !iterator.hasBufferedMessage {
                    FileHandle.standardOutput.write(Data(out))
                    out.removeAll(keepingCapacity: true)
                }
            }
            FileHandle.standardOutput.write(Data(out))
            await client.shutdown()
        } catch {
            FileHandle.standardOutput.write(Data(out))
            await client.shutdown()
            guard let error = error as? MeshError else { throw error }
            throw failure(error, json: json)
        }
    }

    func printMetadata(_ metadata: Metadata) {
        for entry in metadata {
            printError("\(entry.key): \(entry.stringValue ?? entry.value.map { String(format: "%02x", $0) }.joined())")
        }
    }

    /// PAYLOAD, else `--file` (`-`: standard input), else standard input if it is not a
    /// terminal, else nothing.
    private func readPayload() throws -> [UInt8] {
        if let payload { return Array(payload.utf8) }
        if let file, file != "-" { return Array(try Data(contentsOf: URL(fileURLWithPath: file))) }
        if file == nil && isatty(0) != 0 { return [] }
        return Array(FileHandle.standardInput.readDataToEndOfFile())
    }
}
