import Testing
import MeshClock
@testable import ZeroMQ
#if canImport(Glibc)
import Glibc
#endif

@Suite("libzmq binding")
struct BindingTests {
    @Test func errorsNameTheCallTheEndpointAndLibzmqsText() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .router)
        defer { socket.close() }
        do {
            try socket.bind("tcp://127.0.0.1:notaport")
            Issue.record("binding a malformed port must fail")
        } catch {
            #expect(error.operation == "bind")
            #expect(error.detail == "tcp://127.0.0.1:notaport")
            #expect(error.code != 0)
            #expect(!error.message.isEmpty)
            #expect(error.description.contains("tcp://127.0.0.1:notaport"))
        }
        do {
            try socket.connect("nonsense")
            Issue.record("a malformed endpoint must fail")
        } catch {
            #expect(error.operation == "connect")
        }
    }

    @Test func optionsApplyAndBadOnesAreRejected() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .dealer)
        defer { socket.close() }
        try socket.set([.linger(milliseconds: 0), .sendHighWaterMark(10), .receiveHighWaterMark(10),
                        .routingID(Array("me".utf8)), .heartbeatInterval(milliseconds: 100),
                        .heartbeatTimeout(milliseconds: 300), .reconnectInterval(milliseconds: 50),
                        .maxMessageSize(1 << 20), .immediate(true)])
        #expect(throws: ZMQError.self) { try socket.set(.routingID([])) }
    }

    @Test func curveIsAvailable() {
        #expect(ZMQContext.hasCurve)
        #expect(ZMQContext.version.major == 4)
    }

    @Test func closedSocketsRefuseWork() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .dealer)
        socket.close()
        socket.close()
        #expect(socket.isClosed)
        #expect(throws: ZMQError.self) { try socket.send([[1]]) }
        #expect(throws: ZMQError.self) { _ = try socket.receive() }
    }

    @Test func monitorEventsParse() {
        // event 0x1000 (handshake succeeded) value 7 endpoint "tcp://x"
        let event = ZMQMonitorEvent(frames: [[0x00, 0x10, 7, 0, 0, 0], Array("tcp://x".utf8)])
        #expect(event?.isUp == true)
        #expect(event?.value == 7)
        #expect(event?.endpoint == "tcp://x")
        #expect(ZMQMonitorEvent(frames: [[1, 2, 3]]) == nil)
    }
}

@Suite("EventLoop timers")
struct TimerTests {
    @Test func timersFireInDeadlineOrderAndCancelledOnesDoNot() async throws {
        let loop = try EventLoop(name: "t-timers")
        let fired = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[Int], any Error>) in
            loop.execute {
                var order: [Int] = []
                let now = MonotonicTime.now()
                loop.schedule(at: now.advanced(by: .milliseconds(30))) { order.append(3) }
                loop.schedule(at: now.advanced(by: .milliseconds(10))) { order.append(1) }
                let cancelled = loop.schedule(at: now.advanced(by: .milliseconds(15))) { order.append(99) }
                loop.schedule(at: now.advanced(by: .milliseconds(20))) { order.append(2) }
                loop.cancelTimer(cancelled)
                loop.schedule(at: now.advanced(by: .milliseconds(40))) { continuation.resume(returning: order) }
            }
        }
        #expect(fired == [1, 2, 3])
        await loop.shutdown()
    }

    @Test func anIdleLoopSleepsInsteadOfSpinning() async throws {
        let loop = try EventLoop(name: "t-idle")
        _ = try await loop.submit { 0 }
        let before = loop.wakeUps
        try await Task.sleep(for: .milliseconds(200))
        #expect(loop.wakeUps - before < 5)
        await loop.shutdown()
    }
}
