import Foundation
import Synchronization
import Testing
import ZMeshTestSupport
@testable import ZeroMQ

/// Read coalescing (`EventLoop.register(coalescing:)`): a busy socket is read once per window,
/// an idle one at once, and nothing is lost either way.
@Suite("Read coalescing on an EventLoop")
struct ReadCoalescingTests {
    private struct Pair {
        let router: ZMQSocketActor
        let dealer: ZMQSocketActor
    }

    private func pair(server: EventLoop, client: EventLoop, coalescing: Duration) async throws -> Pair {
        let router = try await ZMQSocketActor.make(on: server, type: .router)
        await router.setReadCoalescing(coalescing)
        try await router.bind(privateEndpoint("pair"))
        let dealer = try await ZMQSocketActor.make(on: client, type: .dealer)
        try await dealer.connect(try await router.lastEndpoint())
        return Pair(router: router, dealer: dealer)
    }

    private func payload(_ frames: [[UInt8]]?) -> String {
        frames.flatMap { $0.last.map { String(decoding: $0, as: UTF8.self) } } ?? "<closed>"
    }

    @Test func aBusySocketsMessagesWaitForTheWindowAndAllArrive() async throws {
        let server = try EventLoop(name: "t-coalesce-s")
        let client = try EventLoop(name: "t-coalesce-c")
        let busy = try await pair(server: server, client: client, coalescing: .seconds(2))
        let control = try await pair(server: server, client: client, coalescing: .zero)

        // Two reads in a row: the socket counts as busy, so its next read waits for the window.
        for text in ["one", "two"] {
            try await busy.dealer.send([Array(text.utf8)])
            #expect(payload(try await busy.router.receive()) == text)
        }
        let arrived = Mutex<[String]>([])
        let held = Task {
            for _ in 0..<3 {
                let text = payload(try await busy.router.receive())
                arrived.withLock { $0.append(text) }
            }
        }
        for text in ["three", "four", "five"] { try await busy.dealer.send([Array(text.utf8)]) }
        // A message sent after them on a socket without coalescing is read first.
        try await control.dealer.send([Array("control".utf8)])
        #expect(payload(try await control.router.receive()) == "control")
        #expect(arrived.withLock { $0 }.isEmpty, "the busy socket was read before its window ended")
        // At the window's end all three arrive, in order.
        try await held.value
        #expect(arrived.withLock { $0 } == ["three", "four", "five"])
        await client.shutdown()
        await server.shutdown()
    }

    @Test func anIdleSocketsMessageIsReadAtOnce() async throws {
        let server = try EventLoop(name: "t-coalesce-s")
        let client = try EventLoop(name: "t-coalesce-c")
        let window = Duration.seconds(20)
        let idle = try await pair(server: server, client: client, coalescing: window)
        for text in ["first", "second"] {
            // Only a read that follows another within two windows makes the *next* one wait:
            // the first two messages of a quiet socket are read as they come.
            let clock = ContinuousClock()
            let started = clock.now
            try await idle.dealer.send([Array(text.utf8)])
            #expect(payload(try await idle.router.receive()) == text)
            #expect(clock.now - started < window / 2, "a lone message waited for the window")
        }
        await client.shutdown()
        await server.shutdown()
    }
}
