import Foundation
import Testing
@testable import ZMesh
import ZMeshTestSupport
import ZeroMQ

@Suite("Limits")
struct LimitsTests {
    /// A request leaves its client's count when it ends, however it was cancelled: a CANCEL
    /// sent twice, or a retry that joined a cancelled request, must not leave the client
    /// counted as holding it (it would be refused as overloaded for ever after).
    @Test func cancelledRequestsLeaveTheirClientsCount() async throws {
        let (node, endpoint) = try await startTestNode(configure: { $0.maxInFlightPerClient = 1 })
        let peer = try await RawPeer.connect(to: endpoint)
        let cancel = Header(command: .cancel, requestID: RequestID(client: 42, sequence: 1))
        try await peer.request("sleep", "5000".bytes, sequence: 1)
        #expect(await eventually { await node.stats().running == 1 })
        try await peer.send([[], cancel.encoded()])
        try await peer.send([[], cancel.encoded()])
        try await peer.request("sleep", "5000".bytes, sequence: 1)   // a retry joins it
        #expect(await eventually { await node.stats().running == 0 })
        // The same client may hold one request again.
        try await peer.request("echo", "again".bytes, sequence: 2)
        var reply = try #require(try await peer.next())
        while reply.header.requestID.sequence != 2 { reply = try #require(try await peer.next()) }   // the joined retry's answer
        #expect(reply.header.command == .reply)
        #expect(reply.payload == "again".bytes)
        await peer.close()
        await node.stop()
    }

    @Test func oneClientCannotTakeEveryHandlerSlotAtAService() async throws {
        let (node, endpoint) = try await startTestNode(configure: {
            $0.maxInFlightPerClient = 3
            $0.maxConcurrentHandlers = 10
        })
        let greedy = try makeClient([endpoint])
        let polite = try makeClient([endpoint])
        let calls = (0..<5).map { _ in Task { try await greedy.call("sleep", "400".bytes) } }
        var overloaded = 0, served = 0
        for call in calls {
            do {
                _ = try await call.value
                served += 1
            } catch let error as MeshError {
                #expect(error.code == .overloaded)
                #expect(error.message.contains("its limit"))
                overloaded += 1
            }
        }
        #expect(served == 3)
        #expect(overloaded == 2)
        // Another client is served meanwhile and after.
        #expect(try await polite.call("sleep", "10".bytes).text == "10")
        await greedy.shutdown()
        await polite.shutdown()
        await node.stop()
    }

    @Test func oneClientCannotHoldEveryPlaceAtABroker() async throws {
        let mesh = try await SmallBrokeredMesh.start { $0.maxInFlightPerClient = 3 }
        let front = mesh.front
        #expect(await eventually { await mesh.broker.stats().readyByService["sleep"] == 1 })
        let greedy = try MeshClient(configuration: .init(discovery: .brokers([front])), logger: testLogger)
        let polite = try MeshClient(configuration: .init(discovery: .brokers([front])), logger: testLogger)
        let calls = (0..<5).map { _ in Task { try await greedy.call("sleep", "400".bytes) } }
        var overloaded = 0, served = 0
        for call in calls {
            do {
                _ = try await call.value
                served += 1
            } catch let error as MeshError {
                #expect(error.code == .overloaded)
                overloaded += 1
            }
        }
        #expect(served == 3)
        #expect(overloaded == 2)
        #expect(try await polite.call("sleep", "10".bytes).text == "10")
        await greedy.shutdown()
        await polite.shutdown()
        await mesh.stop()
    }

    @Test func aHeartbeatFloodIsDroppedBeforeDecodingAndTheRegistryKeepsAnswering() async throws {
        var configuration = RegistryNode.Configuration(name: "registry-1", bind: "tcp://127.0.0.1:*")
        // One heartbeat per connection per quarter interval (2.5 s) is taken; the rest of a flood
        // is dropped before its JSON is decoded.
        configuration.heartbeat = .init(interval: .seconds(10), liveness: 3)
        let registry = try RegistryNode(configuration: configuration, logger: testLogger)
        let endpoint = try await registry.start()
        let flooder = try await RawPeer.connect(to: endpoint, routingID: "echo-1-flood")
        let announcement = Announcement(instance: "echo-1-flood", node: "echo-1", endpoint: "tcp://127.0.0.1:1",
                                        services: ["echo"], load: 0, capacity: 1, intervalMilliseconds: 1000)
        let header = Header(command: .heartbeat, requestID: RequestID(client: 0, sequence: 0)).encoded()
        let started = ContinuousClock.now
        for _ in 0..<2_000 { try await flooder.send([[], header, announcement.encoded()]) }
        #expect(await eventually { await registry.stats().floodDropped + registry.stats().heartbeats >= 2_000 })
        // However slow the machine: one heartbeat, plus one per quarter interval the flood took.
        let allowed = 1 + Int((ContinuousClock.now - started) / .milliseconds(2_500)) + 1
        let stats = await registry.stats()
        #expect(stats.heartbeats <= UInt64(allowed))
        #expect(stats.floodDropped >= UInt64(2_000 - allowed))
        // Still answering, with the one instance.
        let client = try MeshClient(configuration: .init(discovery: .registries([RegistryAddress(endpoint: endpoint)])),
                                    logger: testLogger)
        let body = try await client.call("mesh.lookup", "echo".bytes)
        #expect(try JSONDecoder().decode(LookupReply.self, from: Data(body)).instances.count == 1)
        await client.shutdown()
        await flooder.close()
        await registry.stop()
    }

    @Test func aConnectionAnnouncesOnlyTheInstanceItIsNamedAfter() async throws {
        var configuration = RegistryNode.Configuration(name: "registry-1", bind: "tcp://127.0.0.1:*")
        // A long interval: the one heartbeat must keep echo-1-a live until the checks below,
        // however loaded the machine (a 600 ms expiry ran out before them under a full suite).
        configuration.heartbeat = .init(interval: .seconds(10), liveness: 3)
        let registry = try RegistryNode(configuration: configuration, logger: testLogger)
        let endpoint = try await registry.start()
        let header = Header(command: .heartbeat, requestID: RequestID(client: 0, sequence: 0)).encoded()
        func announcement(_ instance: String) -> [UInt8] {
            Announcement(instance: instance, node: "echo-1", endpoint: "tcp://127.0.0.1:\(1000 + instance.count)",
                         services: ["echo"], load: 0, capacity: 1, intervalMilliseconds: 10_000).encoded()
        }
        // Named "echo-1-a": its own instance is taken; phantoms from the same connection are not.
        let peer = try await RawPeer.connect(to: endpoint, routingID: "echo-1-a")
        try await peer.send([[], header, announcement("echo-1-a")])
        for index in 0..<20 {
            // One connection each would be needed to get past the flood guard; these share one,
            // so what reaches the check is counted as spoofed or dropped as a flood.
            try await peer.send([[], header, announcement("phantom-\(index)")])
        }
        // A connection with no name of ours announcing anything: refused.
        let anonymous = try await RawPeer.connect(to: endpoint)
        try await anonymous.send([[], header, announcement("echo-1-b")])
        #expect(await eventually { await registry.stats().spoofed >= 1 })
        #expect(await eventually { await registry.instances().map(\.instance) == ["echo-1-a"] })
        let stats = await registry.stats()
        #expect(stats.heartbeats == 1)
        await peer.close()
        await anonymous.close()
        await registry.stop()
    }
}
