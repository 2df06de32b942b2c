import Foundation
import Testing
import ZMeshTestSupport
@testable import ZeroMQ

@Suite("ZMQSocketActor on an EventLoop")
struct SocketActorTests {
    private func pair(_ loop: EventLoop) async throws -> (router: ZMQSocketActor, dealer: ZMQSocketActor) {
        let router = try await ZMQSocketActor.make(on: loop, type: .router, options: [.routerMandatory(true)])
        try await router.bind(privateEndpoint("pair"))
        let endpoint = try await router.lastEndpoint()
        let dealer = try await ZMQSocketActor.make(on: loop, type: .dealer)
        try await dealer.connect(endpoint)
        return (router, dealer)
    }

    @Test func dealerAndRouterRoundTrip() async throws {
        let loop = try EventLoop(name: "t-roundtrip")
        let (router, dealer) = try await pair(loop)
        try await dealer.send([[], Array("ping".utf8)])
        let request = try #require(try await router.receive())
        #expect(request.count == 3)
        #expect(request[1].isEmpty)
        #expect(request[2] == Array("ping".utf8))
        let result = try await router.send([request[0], [], Array("pong".utf8)])
        #expect(result == .sent)
        let reply = try #require(try await dealer.receive())
        #expect(reply == [[], Array("pong".utf8)])
        await loop.shutdown()
    }

    @Test func isolatedMethodsRunOnTheLoopThread() async throws {
        let loop = try EventLoop(name: "t-isolation")
        #expect(!loop.inLoop)
        let onLoop = try await loop.submit { loop.inLoop }
        #expect(onLoop)
        let socket = try await ZMQSocketActor.make(on: loop, type: .dealer)
        let inside = await socket.runsOnLoop()
        #expect(inside)
        await loop.shutdown()
    }

    @Test func tenThousandMessagesArriveInOrder() async throws {
        let loop = try EventLoop(name: "t-order")
        let (router, dealer) = try await pair(loop)
        let count = 10_000
        for index in 0..<count {
            try await dealer.send([[], NumberedFrame.make(index)])
        }
        var received = 0
        for await frames in router.messages {
            let value = NumberedFrame.number(in: frames[2])
            #expect(value == UInt32(received))
            received += 1
            if received == count { break }
        }
        #expect(received == count)
        await loop.shutdown()
    }

    @Test func aRouterKeepsEachPeersOrderWhileThePeerIsBlocked() async throws {
        let loop = try EventLoop(name: "t-router-order")
        let router = try await ZMQSocketActor.make(on: loop, type: .router,
                                                   options: [.routerMandatory(true), .sendHighWaterMark(8)])
        let endpoint = privateEndpoint("router-order")
        try await router.bind(endpoint)
        let dealer = try await ZMQSocketActor.make(on: loop, type: .dealer, options: [.receiveHighWaterMark(8)])
        await dealer.setLimits(inboundBuffer: 16)
        try await dealer.connect(endpoint)
        try await dealer.send([[], [0]])
        let peer = try #require(try await router.receive()?.first)

        // Sends until the peer blocks (a send waits in the router's queue), then reads while
        // sending the rest: when the pipe has room again, later sends must not overtake the
        // ones waiting.
        let count = 5_000
        var results: [ZMQSocketActor.SendResult] = []
        func send(_ index: Int) async throws {
            results.append(try await router.send([peer, [], NumberedFrame.make(index)]))
        }
        var index = 0
        while index < count, results.last != .queued {
            try await send(index)
            index += 1
        }
        let blocked = results.last == .queued
        #expect(blocked, "the peer never blocked: the test would prove nothing")
        let reader = Task {
            var received = 0
            var outOfOrder = 0
            for await frames in dealer.messages {
                let value = NumberedFrame.number(in: frames[1])
                if value != UInt32(received) { outOfOrder += 1 }
                received += 1
                if received == count { break }
            }
            return (received, outOfOrder)
        }
        while index < count {
            try await send(index)
            index += 1
        }
        let refused = results.filter { $0 == .dropped || $0 == .unroutable }.count
        #expect(refused == 0)
        let (received, outOfOrder) = await reader.value
        #expect(received == count)
        #expect(outOfOrder == 0)
        await loop.shutdown()
    }

    @Test func largeFramesTravelWithoutCorruption() async throws {
        let loop = try EventLoop(name: "t-large")
        let (router, dealer) = try await pair(loop)
        let big = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        for _ in 0..<20 { try await dealer.send([[], big]) }
        for _ in 0..<20 {
            let frames = try #require(try await router.receive())
            #expect(frames[2] == big)
        }
        await loop.shutdown()
    }

    @Test func sendsQueueWhileNoPeerAndFlushWhenOneArrives() async throws {
        let loop = try EventLoop(name: "t-queue")
        let dealer = try await ZMQSocketActor.make(on: loop, type: .dealer, options: [.immediate(true), .sendHighWaterMark(1)])
        // Connect before anyone listens, to an ipc path of its own (a TCP port freed for the
        // test could be bound by a parallel test meanwhile).
        let endpoint = privateEndpoint("queue")
        try await dealer.connect(endpoint)
        var results: [ZMQSocketActor.SendResult] = []
        for index in 0..<50 { results.append(try await dealer.send([[], [UInt8(index)]])) }
        #expect(results.allSatisfy { $0 == .queued })
        #expect(await dealer.outboundQueued == 50)

        let router = try await ZMQSocketActor.make(on: loop, type: .router)
        try await router.bind(endpoint)
        for index in 0..<50 {
            let frames = try #require(try await router.receive())
            #expect(frames[2] == [UInt8(index)])
        }
        #expect(await dealer.outboundQueued == 0)
        await loop.shutdown()
    }

    @Test func routerReportsUnroutablePeers() async throws {
        let loop = try EventLoop(name: "t-unroutable")
        let router = try await ZMQSocketActor.make(on: loop, type: .router, options: [.routerMandatory(true)])
        try await router.bind("tcp://127.0.0.1:*")
        let result = try await router.send([Array("nobody".utf8), [], [1]])
        #expect(result == .unroutable)
        await loop.shutdown()
    }

    @Test func monitorReportsConnectionUpAndDown() async throws {
        let loop = try EventLoop(name: "t-monitor")
        let router = try await ZMQSocketActor.make(on: loop, type: .router)
        try await router.bind("tcp://127.0.0.1:*")
        let endpoint = try await router.lastEndpoint()
        let dealer = try await ZMQSocketActor.make(on: loop, type: .dealer)
        let events = EventLog()
        try await dealer.monitor(.connectionLifecycle) { event in events.append(event) }
        try await dealer.connect(endpoint)
        #expect(await eventually { events.contains { $0.isUp } })
        await router.close()
        #expect(await eventually { events.contains { $0.isDown } })
        await loop.shutdown()
    }

    @Test func shutdownClosesSocketsWakesReceiversAndEndsTheThread() async throws {
        var loop: EventLoop? = try EventLoop(name: "t-shutdown")
        let watcher = try #require(loop?.exitWatcher)
        let socket = try await ZMQSocketActor.make(on: try #require(loop), type: .dealer)
        try await socket.connect("tcp://127.0.0.1:1")
        let receiver = Task { try await socket.receive() }
        await loop?.shutdown()
        let result = try await receiver.value
        #expect(result == nil)
        #expect(await socket.isClosed)
        do {
            try await socket.send([[1]])
            Issue.record("send on a closed socket must throw")
        } catch {}
        loop = nil
        // The socket actor still holds the loop; once it goes, the thread ends.
        _ = consume socket
        #expect(await eventually { watcher.hasExited })
    }

    /// What a node sends just before it stops (its last replies) must still leave: a lingering
    /// close keeps it, shutting the loop down waits for it, and a plain close drops it.
    @Test func aLingeringCloseDeliversWhatWasSentAndShutdownWaitsForIt() async throws {
        let receiverLoop = try EventLoop(name: "t-linger-recv")
        // An ipc path of its own: no other test can take it between the sends and the bind.
        let endpoint = "ipc://\(FileManager.default.temporaryDirectory.path)/zmesh-linger-\(UUID().uuidString)"

        // Nobody listens yet: both messages wait in libzmq's pipes.
        let senderLoop = try EventLoop(name: "t-linger-send")
        let kept = try await ZMQSocketActor.make(on: senderLoop, type: .dealer)
        let dropped = try await ZMQSocketActor.make(on: senderLoop, type: .dealer)
        for (socket, text) in [(kept, "kept"), (dropped, "dropped")] {
            try await socket.connect(endpoint)
            #expect(try await socket.send([[], Array(text.utf8)]) == .sent)
        }
        await kept.close(lingering: .seconds(10))
        await dropped.close()
        let shutdown = Task { await senderLoop.shutdown() }

        let router = try await ZMQSocketActor.make(on: receiverLoop, type: .router)
        try await router.bind(endpoint)
        let arrived = Mutex<[String]>([])
        try await router.onMessage { frames in
            arrived.withLock { $0.append(String(decoding: frames.last ?? [], as: UTF8.self)) }
        }
        #expect(await eventually { arrived.withLock { $0 } == ["kept"] })
        await shutdown.value
        #expect(senderLoop.context.isTerminated)
        // The dropped one never comes (its pipe went with the plain close).
        try await Task.sleep(for: .milliseconds(300))
        #expect(arrived.withLock { $0 } == ["kept"])
        await receiverLoop.shutdown()
    }

    @Test func receiveHonoursTaskCancellation() async throws {
        let loop = try EventLoop(name: "t-cancel")
        let socket = try await ZMQSocketActor.make(on: loop, type: .dealer)
        try await socket.connect("tcp://127.0.0.1:1")
        let receiver = Task { try await socket.receive() }
        try await Task.sleep(for: .milliseconds(20))
        receiver.cancel()
        await #expect(throws: CancellationError.self) { try await receiver.value }
        await loop.shutdown()
    }
}

extension ZMQSocketActor {
    func runsOnLoop() -> Bool { loop.inLoop }
}

/// A thread-safe list of monitor events for assertions.
final class EventLog: Sendable {
    private let storage = Mutex<[ZMQMonitorEvent]>([])
    func append(_ event: ZMQMonitorEvent) { storage.withLock { $0.append(event) } }
    func contains(where predicate: (ZMQMonitorEvent) -> Bool) -> Bool { storage.withLock { $0.contains(where: predicate) } }
}

import Synchronization
