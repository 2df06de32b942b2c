import Foundation
import Testing
@testable import ZMesh
import ZeroMQ

@Suite("Calls to a service node at an endpoint")
struct DirectCallTests {
    @Test func echoAnswers() async throws {
        let (node, endpoint) = try await startTestNode()
        let client = try makeClient([endpoint])
        let reply = try await client.call("echo", "hello".bytes)
        #expect(reply.text == "hello")
        await client.shutdown()
        await node.stop()
    }
}
