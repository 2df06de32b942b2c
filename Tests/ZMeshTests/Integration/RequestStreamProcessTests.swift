import Foundation
import Testing
@testable import ZMesh
import ZMeshTestSupport

/// Client and bidirectional streams with real processes started by scripts/mesh-up.sh: the
/// CLI sends standard input's lines as a stream, in both topologies and through brokers; an
/// instance killed with kill -9 mid stream ends it with a typed error, never a hang.
@Suite("Client streams across processes", .serialized, .oneMeshAtATime)
struct RequestStreamProcessTests {
    /// A file of the lines 1 to `count`, for a command's standard input.
    private func numbersFile(_ count: Int) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("zmesh-lines-\(UUID().uuidString)")
        try ((1...count).map(String.init).joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test(arguments: ["topologies/brokerless.yaml", "topologies/brokered.yaml", "topologies/ha.yaml"])
    func theCommandLineSendsStandardInputAsAStream(file: String) async throws {
        let mesh = try await MeshUnderTest(file)
        defer { Task { await mesh.down() } }
        let input = try numbersFile(20_000)
        defer { try? FileManager.default.removeItem(at: input) }
        let sum = try await mesh.zmesh(["call", "stream.sum", "--client-stream"], input: input)
        #expect(sum.status == 0, "\(sum.stderr)")
        #expect(sum.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "200010000 20000")
        // Both ways: every line comes back, in order.
        let echoed = try await mesh.zmesh(["call", "stream.echo", "--client-stream", "--stream"], input: input)
        #expect(echoed.status == 0, "\(echoed.stderr)")
        let lines: [String] = echoed.stdout.split(separator: "\n").map(String.init)
        let expected: [String] = (1...20_000).map(String.init)
        #expect(lines == expected)
        await mesh.down()
    }

    @Test(arguments: ["topologies/brokerless.yaml", "topologies/brokered.yaml"])
    func anInstanceKilledMidClientStreamEndsItWithATypedError(file: String) async throws {
        let mesh = try await MeshUnderTest(file)
        defer { Task { await mesh.down() } }
        let client = try mesh.client()
        let sent = Locked(0)
        let call = Task {
            // Long enough that only the instance's death can end it; its deadline is far away.
            try await client.clientStream("stream.sum", options: CallOptions(timeout: .seconds(60))) { writer in
                for number in 1...100_000_000 {
                    try await writer.write(Array("\(number)".utf8))
                    sent.update { $0 += 1 }
                }
            }
        }
        #expect(await eventually(timeout: .seconds(30)) { sent.value >= 100 })
        // Whichever of the two serves it dies.
        try await mesh.kill9("echo-1")
        try await mesh.kill9("echo-2")
        let clock = ContinuousClock()
        let started = clock.now
        switch await call.result {
        case .success: Issue.record("the stream was answered after its instance was killed")
        case .failure(let error):
            let meshError = try #require(error as? MeshError, "\(error)")
            #expect(meshError.code == .unavailable, "\(meshError)")
            #expect(meshError.mayHaveRun)
        }
        // Noticed by the connection's heartbeats, not at the 60 s deadline.
        #expect(clock.now - started < .seconds(30))
        await client.shutdown()
        await mesh.down()
    }

    /// `zmesh call --stream` prints each line as it comes: a line written to a bidirectional
    /// stream's standard input is echoed back on standard output while the input stays open
    /// (the CLI used to hold its output until 32 KiB or the end).
    @Test func aQuietStreamsLinesAppearAsTheyCome() async throws {
        let mesh = try await MeshUnderTest("topologies/brokerless.yaml")
        defer { Task { await mesh.down() } }
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("zmesh-echo-\(UUID().uuidString).out")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)   // children close what they inherit above 2
        let input = FileHandle(fileDescriptor: ends[1], closeOnDealloc: true)
        let process = try SpawnedProcess(
            executable: try Repository.zmeshBinary(),
            arguments: ["call", "stream.echo", "--client-stream", "--stream", "--timeout", "60", "--config", mesh.file],
            environment: ProcessInfo.processInfo.environment.merging(mesh.environment) { _, new in new },
            standardInput: .descriptor(ends[0]), standardOutput: .file(output.path), standardError: .null)
        close(ends[0])
        defer { process.signal(SIGTERM) }
        let printed = { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }
        input.write(Data("first\n".utf8))
        #expect(await eventually(timeout: .seconds(30)) { printed() == "first\n" }, "\(printed())")
        input.write(Data("second\n".utf8))
        #expect(await eventually(timeout: .seconds(30)) { printed() == "first\nsecond\n" }, "\(printed())")
        try input.close()
        #expect(await eventually(timeout: .seconds(30)) { !process.isRunning })
        #expect(process.terminationStatus == 0)
        await mesh.down()
    }
}
