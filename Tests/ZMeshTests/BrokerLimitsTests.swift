import Foundation
import Testing
@testable import ZMesh
import ZMeshTestSupport
import ZeroMQ

/// Issue 10: what Majordomo workers choose (their number, their services, how much they send
/// back in PARTIALs) is bounded at the broker.
@Suite("Broker limits on what workers choose", .serialized)
struct BrokerLimitsTests {
    static let worker = Array("MDPW02".utf8)

    /// READY from a worker, and the frames of DISCONNECT as the broker sends it.
    static func ready(_ service: String) -> [[UInt8]] { [worker, [0x01], Array(service.utf8)] }
    static let disconnect: [[UInt8]] = [worker, [0x06]]
    /// Workers here never heartbeat: a broker heartbeat slow enough that none expires meanwhile.
    static let slow = Topology.Heartbeat(interval: .seconds(3), liveness: 3)

    /// A small brokered mesh whose broker takes workers (heartbeat `slow`), and its workers endpoint.
    static func meshTakingWorkers(_ configure: (inout BrokerNode.Configuration) -> Void = { _ in }) async throws
        -> (mesh: SmallBrokeredMesh, workers: String) {
        let workers = "tcp://127.0.0.1:\(try freePorts(1)[0])"
        let mesh = try await SmallBrokeredMesh.start {
            $0.workers = workers
            $0.heartbeat = Self.slow
            configure(&$0)
        }
        return (mesh, workers)
    }

    /// A raw worker that has sent READY for `service`.
    static func readyWorker(at endpoint: String, service: String) async throws -> RawPeer {
        let peer = try await RawPeer.connect(to: endpoint)
        try await peer.send(ready(service))
        return peer
    }

    @Test func aWorkerPastTheWorkerLimitGetsDisconnect() async throws {
        let (mesh, workersEndpoint) = try await Self.meshTakingWorkers { $0.maxWorkers = 3 }
        var peers: [RawPeer] = []
        for _ in 0..<3 { peers.append(try await Self.readyWorker(at: workersEndpoint, service: "w")) }
        #expect(await eventually { await mesh.broker.stats().readyByService["w"] == 3 })
        let fourth = try await Self.readyWorker(at: workersEndpoint, service: "w")
        #expect(try await fourth.nextFrames(timeout: .seconds(5)) == Self.disconnect)
        let stats = await mesh.broker.stats()
        #expect(stats.workersRefused == 1)
        #expect(stats.readyByService["w"] == 3)
        for peer in peers + [fourth] { await peer.close() }
        await mesh.stop()
    }

    /// A broker announces its workers' services in one registry announcement, which lists at
    /// most 64: a worker for a 65th service is refused, one for a known service is not.
    @Test func workersForMoreThanSixtyFourServicesAreRefused() async throws {
        let (mesh, workersEndpoint) = try await Self.meshTakingWorkers()
        var peers: [RawPeer] = []
        for index in 0..<Announcement.maxServices {
            peers.append(try await Self.readyWorker(at: workersEndpoint, service: "svc\(index)"))
        }
        #expect(await eventually {
            await mesh.broker.stats().readyByService.keys.filter { $0.hasPrefix("svc") }.count == Announcement.maxServices
        })
        let extra = try await Self.readyWorker(at: workersEndpoint, service: "svc-one-too-many")
        #expect(try await extra.nextFrames(timeout: .seconds(5)) == Self.disconnect)
        let sameService = try await Self.readyWorker(at: workersEndpoint, service: "svc0")
        #expect(await eventually { await mesh.broker.stats().readyByService["svc0"] == 2 })
        #expect(await mesh.broker.stats().workersRefused == 1)
        for peer in peers + [extra, sameService] { await peer.close() }
        await mesh.stop()
    }

    /// PARTIALs kept for a native caller (who takes one reply) stop at the message limit: the
    /// call ends with an error, not a broker that grows for as long as a worker sends.
    @Test func partialsPastTheMessageLimitEndTheCall() async throws {
        let (mesh, workersEndpoint) = try await Self.meshTakingWorkers { $0.maxMessageBytes = 4_096 }
        let worker = try await Self.readyWorker(at: workersEndpoint, service: "parts")
        #expect(await eventually { await mesh.broker.stats().readyByService["parts"] == 1 })
        let client = try MeshClient(configuration: .init(discovery: .brokers([mesh.front])), logger: testLogger)
        let call = Task { try await client.call("parts", "go".bytes, options: CallOptions(timeout: .seconds(10))) }

        // REQUEST: [MDPW02] [0x02] [address] [] [body]
        let request = try #require(try await worker.nextFrames(timeout: .seconds(5)))
        #expect(request.count == 5 && request[1] == [0x02])
        let address = request[2]
        for _ in 0..<3 {
            try await worker.send([Self.worker, [0x03], address, [], [UInt8](repeating: 7, count: 2_000)])
        }
        let outcome = await call.result
        guard case .failure(let error as MeshError) = outcome else {
            Issue.record("the call did not fail: \(outcome)")
            return
        }
        #expect(error.code == .protocolError)
        #expect(error.message.contains("partial replies passed 4096 bytes"))
        #expect(await mesh.broker.stats().partialsTooLarge == 1)
        #expect(await mesh.broker.stats().inFlight == 0)
        await client.shutdown()
        await worker.close()
        await mesh.stop()
    }
}
