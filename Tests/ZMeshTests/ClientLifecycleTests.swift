import Logging
import ServiceLifecycle
import Testing
@testable import ZMesh
import ZMeshTestSupport

/// A client starts nothing in its initializer; it runs as a swift-service-lifecycle service
/// or scoped by `withMeshClient`, and either way is shut down at the end.
@Suite("Client lifecycle")
struct ClientLifecycleTests {
    @Test func aClientConnectsNothingUntilItsFirstCall() async throws {
        let (node, endpoint) = try await startTestNode()
        let client = try MeshClient(configuration: .init(discovery: .endpoints([endpoint])), logger: testLogger)
        _ = await client.stats()   // a turn of the client's loop: anything queued at init has run
        #expect(await client.core.connectionStates().isEmpty)
        #expect(try await client.call("echo", "first".bytes).text == "first")
        #expect(await client.core.connectionStates() == [endpoint: true])
        await client.shutdown()
        await node.stop()
    }

    @Test func withMeshClientShutsTheClientDownWhenItsBodyEnds() async throws {
        let (node, endpoint) = try await startTestNode()
        let escaped = Locked<MeshClient?>(nil)
        let reply = try await withMeshClient(configuration: .init(discovery: .endpoints([endpoint])), logger: testLogger) { client in
            escaped.value = client
            return try await client.call("echo", "scoped".bytes).text
        }
        #expect(reply == "scoped")
        let client = try #require(escaped.value)
        do {
            _ = try await client.call("echo", "after".bytes)
            Issue.record("a call after the body ended succeeded")
        } catch {
            #expect(error.code == .closed)
        }
        await node.stop()
    }

    @Test func aClientInAServiceGroupConnectsThenShutsDownGracefully() async throws {
        let (node, endpoint) = try await startTestNode()
        let client = try MeshClient(configuration: .init(discovery: .endpoints([endpoint])), logger: testLogger)
        let group = ServiceGroup(services: [client], logger: testLogger)
        let running = Task { try await group.run() }
        #expect(await eventually { await client.core.connectionStates() == [endpoint: true] })
        #expect(try await client.call("echo", "in group".bytes).text == "in group")
        await group.triggerGracefulShutdown()
        try await running.value
        do {
            _ = try await client.call("echo", "after".bytes)
            Issue.record("a call after graceful shutdown succeeded")
        } catch {
            #expect(error.code == .closed)
        }
        await node.stop()
    }
}
