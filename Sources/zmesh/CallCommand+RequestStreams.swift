import Foundation
import Logging
import ZMesh

/// `zmesh call NAME --client-stream [--stream]`: standard input's lines as a stream of
/// requests; the reply printed, or with `--stream` each reply as a line as it comes.
extension CallCommand {
    func runRequestStream(logger: Logger) async throws {
        let client = try mesh.makeClient(logger: logger)
        let seconds = timeout ?? 3600
        let options = CallOptions(timeout: .milliseconds(Int64(seconds * 1000)), idempotent: !notIdempotent,
                                  metadata: try requestMetadata())
        let lines = StandardInputLines()
        let requests: @Sendable (MeshStreamWriter) async throws -> Void = { writer in
            while let line = await lines.next() { try await writer.write(Array(line.utf8)) }
        }
        if stream {
            do {
                try await client.bidirectionalStream(service, options: options, requests: requests) { replies in
                    try await printStream(replies, client: client)
                }
            } catch let error as MeshError {
                await client.shutdown()
                throw failure(error, json: json)
            }
            return
        }
        do {
            let reply = try await client.clientStream(service, options: options, requests: requests)
            await client.shutdown()
            if showMetadata { printMetadata(reply.metadata) }
            FileHandle.standardOutput.write(Data(reply.payload))
            if isatty(1) != 0, reply.payload.last != UInt8(ascii: "\n") { FileHandle.standardOutput.write(Data("\n".utf8)) }
        } catch let error as MeshError {
            await client.shutdown()
            if showMetadata { printMetadata(error.metadata) }
            throw failure(error, json: json)
        }
    }
}
