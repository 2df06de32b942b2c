import Foundation
import Testing
@testable import ZMesh
import ZMeshTestSupport
import ZeroMQ

/// Regressions found by the hostile-input peer (Tests/Peers/hostile.py): requests a broker
/// must neither spin on nor hold forever.
@Suite("Broker robustness", .serialized)
struct BrokerRobustnessTests {
    @Test func aMajordomoRequestNobodyServesWaitsWithoutStallingOtherCalls() async throws {
        let mesh = try await SmallBrokeredMesh.start { $0.majordomoRequestTimeout = .seconds(2) }
        #expect(await eventually { await mesh.broker.stats().readyByService["echo"] == 1 })
        let majordomo = try await RawPeer.connect(to: mesh.front)
        try await majordomo.send([Array("MDPC02".utf8), [0x01], Array("nothing".utf8), Array("x".utf8)])
        #expect(await eventually { await mesh.broker.stats().queued == 1 })

        // While it waits (RFC 18 queues it), calls through the same broker are answered at once.
        let client = try MeshClient(configuration: .init(discovery: .brokers([mesh.front])), logger: testLogger)
        for index in 0..<50 {
            let reply = try await client.call("echo", "m\(index)".bytes, options: CallOptions(timeout: .seconds(1)))
            #expect(reply.text == "m\(index)")
        }
        // At its deadline the MDP client gets a FINAL with a failure status, and nothing is left held.
        let answer = try #require(try await majordomo.nextFrames(timeout: .seconds(10)))
        #expect(answer.count >= 4)
        #expect(answer.first == Array("MDPC02".utf8))
        #expect(answer.dropFirst().first == [0x03])
        #expect(answer.dropFirst(2).first == Array("nothing".utf8))
        #expect(await eventually { let stats = await mesh.broker.stats(); return stats.queued == 0 && stats.inFlight == 0 })
        await client.shutdown()
        await majordomo.close()
        await mesh.stop()
    }

    @Test func aRequestWithMoreHopsThanAServiceTakesIsDroppedAtTheBroker() async throws {
        let mesh = try await SmallBrokeredMesh.start()
        #expect(await eventually { await mesh.broker.stats().readyByService["echo"] == 1 })
        let peer = try await RawPeer.connect(to: mesh.front)
        // Seven made-up routing frames: with the broker's own id for the peer that is eight, and
        // the service would see nine (one more than it takes) and drop the request unanswered.
        let fakeHops = (0..<7).map { Array("hop-\($0)".utf8) }
        for sequence in 0..<600 {
            var header = Header(command: .request, requestID: RequestID(client: 7, sequence: UInt64(sequence)), name: "echo")
            header.flags = [.idempotent]
            try await peer.send(fakeHops + [[], header.encoded(), [1]])
        }
        #expect(await eventually { await mesh.broker.stats().malformed["too_many_hops"] == 600 })
        let stats = await mesh.broker.stats()
        #expect(stats.inFlight == 0)
        #expect(stats.queued == 0)
        // The instance's capacity is all there: calls go through.
        let client = try MeshClient(configuration: .init(discovery: .brokers([mesh.front])), logger: testLogger)
        #expect(try await client.call("echo", "after".bytes, options: CallOptions(timeout: .seconds(2))).text == "after")

        // One hop fewer is a route the service takes: answered, back along the route.
        var header = Header(command: .request, requestID: RequestID(client: 7, sequence: 1_000), name: "echo")
        header.flags = [.idempotent]
        try await peer.send(Array(fakeHops.dropLast()) + [[], header.encoded(), Array("six".utf8)])
        let answer = try #require(try await peer.nextFrames(timeout: .seconds(5)))
        #expect(answer.count == 6 + 3)
        #expect(answer.last == Array("six".utf8))
        await client.shutdown()
        await peer.close()
        await mesh.stop()
    }

    @Test func noRequestIsHeldLongerThanTheBrokersLongestHold() async throws {
        let mesh = try await SmallBrokeredMesh.start { $0.maxRequestLifetime = .seconds(1) }
        #expect(await eventually { await mesh.broker.stats().readyByService["sleep"] == 1 })
        // The service sleeps longer than the broker holds anything: a longer budget is cut to it...
        let client = try MeshClient(configuration: .init(discovery: .brokers([mesh.front])), logger: testLogger)
        do {
            _ = try await client.call("sleep", "3000".bytes, options: CallOptions(timeout: .seconds(30)))
            Issue.record("a call longer than the broker's longest hold was answered")
        } catch {
            #expect(error.code == .timeout)
        }
        // ...and a request with no budget at all ends there too, rather than never.
        let peer = try await RawPeer.connect(to: mesh.front)
        try await peer.request("sleep", "3000".bytes, sequence: 1, budget: Header.noBudget)
        let answer = try #require(try await peer.next(timeout: .seconds(10)))
        #expect(answer.header.command == .error)
        #expect(answer.header.status == StatusCode.deadlineExceeded.rawValue)
        #expect(await eventually { await mesh.broker.stats().inFlight == 0 })
        await client.shutdown()
        await peer.close()
        await mesh.stop()
    }

    @Test func aMajordomoWorkerThatNeverAnswersIsDisconnectedAndItsClientAnswered() async throws {
        let workersEndpoint = "tcp://127.0.0.1:\(try freePorts(1)[0])"
        let mesh = try await SmallBrokeredMesh.start {
            $0.workers = workersEndpoint
            $0.majordomoRequestTimeout = .milliseconds(500)
            $0.lateReplyGrace = .milliseconds(500)
        }
        // A worker that heartbeats but never answers what it takes.
        let worker = try await RawPeer.connect(to: workersEndpoint)
        try await worker.send([Array("MDPW02".utf8), [0x01], Array("stuck".utf8)])
        let heartbeats = Task {
            while !Task.isCancelled {
                try? await worker.send([Array("MDPW02".utf8), [0x05]])
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        defer { heartbeats.cancel() }
        #expect(await eventually { await mesh.broker.stats().readyByService["stuck"] == 1 })
        let client = try await RawPeer.connect(to: mesh.front)
        try await client.send([Array("MDPC02".utf8), [0x01], Array("stuck".utf8), Array("x".utf8)])

        // The client gets FINAL 504 (not silence), and the worker DISCONNECT.
        let answer = try #require(try await client.nextFrames(timeout: .seconds(10)))
        #expect(answer.prefix(4).map { $0 } == [Array("MDPC02".utf8), [0x03], Array("stuck".utf8), Array("504".utf8)])
        var disconnected = false
        while !disconnected, let frames = try await worker.nextFrames(timeout: .seconds(5)) {
            disconnected = frames == [Array("MDPW02".utf8), [0x06]]
        }
        #expect(disconnected)
        #expect(await eventually { await mesh.broker.stats().readyByService["stuck"] == nil })
        #expect(await mesh.broker.stats().inFlight == 0)
        heartbeats.cancel()
        await client.close()
        await worker.close()
        await mesh.stop()
    }
}
