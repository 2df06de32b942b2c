import Foundation
import Testing
@testable import ZMesh
import ZMeshTestSupport

/// Server streams with real processes started by scripts/mesh-up.sh: the CLI prints a stream
/// in order, an instance killed with kill -9 mid stream ends it with a typed error (it never
/// hangs, and is not silently re-run), and brokers refuse streams with a clear error.
@Suite("Server streams across processes", .serialized, .oneMeshAtATime)
struct StreamProcessTests {
    @Test func theCommandLinePrintsAStreamInOrder() async throws {
        let mesh = try await MeshUnderTest("topologies/brokerless.yaml")
        defer { Task { await mesh.down() } }
        let run = try await mesh.zmesh(["call", "stream.count", "20000", "--stream"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines == (1...20_000).map(String.init))
        let listed = try await mesh.zmesh(["describe", "stream"])
        #expect(listed.stdout.contains("stream.count  server-streaming"), "\(listed.stdout)")
        await mesh.down()
    }

    @Test func anInstanceKilledMidStreamEndsItWithATypedError() async throws {
        let mesh = try await MeshUnderTest("topologies/brokerless.yaml")
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

    @Test func aBrokerRefusesAStreamWithAClearError() async throws {
        let mesh = try await MeshUnderTest("topologies/brokered.yaml")
        defer { Task { await mesh.down() } }
        let run = try await mesh.zmesh(["call", "echo", "hi", "--stream"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("does not relay streams yet"), "\(run.stderr)")
        // The broker goes on serving calls.
        let call = try await mesh.zmesh(["call", "echo", "hi"])
        #expect(call.stdout == "hi")
        await mesh.down()
    }
}
