import Foundation
import Testing
@testable import ZMesh
import ZMeshTestSupport

/// Server streams with real processes started by scripts/mesh-up.sh: the CLI prints a stream
/// in order, an instance killed with kill -9 mid stream ends it with a typed error (it never
/// hangs, and is not silently re-run), and streams pass through brokers.
@Suite("Server streams across processes", .serialized, .oneMeshAtATime)
struct StreamProcessTests {
    @Test func theCommandLinePrintsAStreamInOrder() async throws {
        let mesh = try await MeshUnderTest("topologies/brokerless.yaml")
        defer { Task { await mesh.down() } }
        let run = try await mesh.zmesh(["call", "stream.count", "20000", "--stream"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines == (1...20_000).map(String.init))
        // With --json, one JSON object a line.
        let json = try await mesh.zmesh(["call", "stream.count", "3", "--stream", "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        #expect(json.stdout == "{\"message\":\"1\"}\n{\"message\":\"2\"}\n{\"message\":\"3\"}\n")
        let listed = try await mesh.zmesh(["describe", "stream"])
        #expect(listed.stdout.contains("stream.count  server-streaming"), "\(listed.stdout)")
        #expect(listed.stdout.contains("client-streaming") && listed.stdout.contains("bidirectional-streaming"), "\(listed.stdout)")
        await mesh.down()
    }

    @Test(arguments: ["topologies/brokerless.yaml", "topologies/brokered.yaml"])
    func anInstanceKilledMidStreamEndsItWithATypedError(file: String) async throws {
        let mesh = try await MeshUnderTest(file)
        defer { Task { await mesh.down() } }
        let client = try mesh.client()
        // Long enough that only the instance's death can end it; its deadline is far away.
        var iterator = client.stream("stream.count", Array("100000000".utf8), options: CallOptions(timeout: .seconds(60)),
                                     window: 8).makeAsyncIterator()
        for expected in 1...5 {
            let message = try #require(try await iterator.next())
            #expect(String(decoding: message, as: UTF8.self) == "\(expected)")
        }
        // Whichever of the two serves it dies.
        try await mesh.kill9("echo-1")
        try await mesh.kill9("echo-2")
        let clock = ContinuousClock()
        let started = clock.now
        do {
            while try await iterator.next() != nil {}
            Issue.record("the stream ended normally after its instance was killed")
        } catch let error as MeshError {
            #expect(error.code == .unavailable, "\(error)")
            #expect(error.mayHaveRun)
        }
        // Noticed by the connection's heartbeats, not at the 60 s deadline.
        #expect(clock.now - started < .seconds(30))
        await client.shutdown()
        await mesh.down()
    }

    @Test(arguments: ["topologies/brokered.yaml", "topologies/ha.yaml"])
    func aStreamPassesThroughBrokersInOrder(file: String) async throws {
        let mesh = try await MeshUnderTest(file)
        defer { Task { await mesh.down() } }
        let run = try await mesh.zmesh(["call", "stream.count", "20000", "--stream"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        let expected = (1...20_000).map(String.init)
        #expect(lines == expected)
        // A slow reader through the broker: credit flows back through it, nothing is lost.
        let client = try mesh.client()
        var received: [String] = []
        for try await message in client.stream("stream.count", Array("300".utf8), window: 4) {
            received.append(String(decoding: message, as: UTF8.self))
            if received.count % 50 == 0 { await Task.yield() }
        }
        let all = (1...300).map(String.init)
        #expect(received == all)
        await client.shutdown()
        await mesh.down()
    }
}
