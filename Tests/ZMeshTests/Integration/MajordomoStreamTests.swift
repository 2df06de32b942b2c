import Foundation
import Testing
@testable import ZMesh
import ZMeshTestSupport

/// Streams meet Majordomo through a broker (brokered.yaml): a mesh service's stream answers
/// an MDP client with PARTIALs and a FINAL (one REPLY for MDP/0.1), and an MDP worker's
/// PARTIALs reach a native caller as a stream.
@Suite("Streams and Majordomo", .serialized, .oneMeshAtATime)
struct MajordomoStreamTests {
    @Test func aMeshStreamAnswersMajordomoClientsOfEveryDialect() async throws {
        try await MajordomoPeers.requireMajortomo()
        let mesh = try await MeshUnderTest("topologies/brokered.yaml")
        defer { Task { await mesh.down() } }
        let front = Endpoint.connectable(try #require(mesh.topology.brokers.first).bind)
        for peer in MajordomoClientPeer.allCases {
            let reply = try await peer.request(front, "stream.count", ["3"])
            #expect(reply.error == nil, "\(peer): \(reply)")
            if peer.takesPartials {
                #expect(reply.partials == [["1"], ["2"], ["3"]], "\(peer): \(reply)")
                #expect(reply.final == [""], "\(peer): \(reply)")
            } else {
                // MDP/0.1 has one REPLY per request: the parts joined into it.
                #expect(reply.partials.isEmpty && reply.final == ["1", "2", "3", ""], "\(peer): \(reply)")
            }
        }
        // A unary service still answers MDP clients with one FINAL.
        #expect(try await MDP.request(front, "echo", ["hi"]).final == ["hi"])
        await mesh.down()
    }

    @Test func aMajordomoWorkersPartialsReachANativeCallerAsAStream() async throws {
        try await MDP.requirePyzmq()
        let mesh = try await MeshUnderTest("topologies/brokered.yaml")
        defer { Task { await mesh.down() } }
        let workers = Endpoint.connectable(try #require(mesh.topology.brokers.first?.workers))
        let worker = try MDP.worker(workers, "parts", mode: "partials", name: "parts-w1")
        defer { Task { await worker.stop() } }
        try await MDP.waitForReady(worker)
        try await MDP.waitUntilServed(mesh, "parts")
        let client = try mesh.client()
        var messages: [String] = []
        for try await message in client.stream("parts", Array("go".utf8)) {
            messages.append(String(decoding: message, as: UTF8.self))
        }
        #expect(messages == ["parts-w1:part-1", "parts-w1:part-2", "parts-w1:final:go"])
        await client.shutdown()
        await worker.stop()
        await mesh.down()
    }
}
