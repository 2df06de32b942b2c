import Testing
import ZMeshTestSupport
@testable import ZMesh

/// Clients that send a burst of calls and leave at once: the node reads the calls after the
/// client has gone, so none of the replies can be routed. Found by the hostile-input test: a
/// reply held by send coalescing and refused when a later reply flushed it, inside the node's
/// handling of that later request, was counted from inside that handling, and Swift's
/// exclusivity check stopped the node ("simultaneous accesses").
@Suite("Clients that vanish with calls in flight")
struct VanishingClientTests {
    @Test func burstsFromClientsThatLeaveAtOnceAreCountedAndTheNodeServesOn() async throws {
        let (node, endpoint) = try await startTestNode()
        for round in 0..<30 {
            let peer = try await RawPeer.connect(to: endpoint)
            for sequence in 0..<400 {
                try await peer.request("echo", [1], sequence: UInt64(sequence), client: UInt64(1_000 + round))
            }
            await peer.close()   // lingers until the burst is out, then leaves
        }
        #expect(await eventually(timeout: .seconds(20)) { await node.stats().unroutableReplies > 0 })
        let client = try makeClient([endpoint])
        #expect(try await client.call("echo", "still here".bytes).text == "still here")
        await client.shutdown()
        await node.stop()
    }
}
