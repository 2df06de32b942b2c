import Foundation
import Synchronization
import Testing
import ZMeshTestSupport
@testable import ZeroMQ
#if canImport(Glibc)
import Glibc
#endif

/// A signal with a handler makes the libzmq call it lands in fail with `EINTR`, and libzmq
/// looks for signals between the frames of a message too. The loop must make the call again,
/// never give up halfway through a message.
@Suite("Signals interrupting the loop thread", .timeLimit(.minutes(2)))
struct InterruptedCallsTests {
    @Test func multipartMessagesStayWholeUnderASignalStorm() async throws {
        signal(SIGUSR2) { _ in }   // a handler that returns: the interrupted call fails with EINTR
        let loop = try EventLoop(name: "t-signals")
        let loopThread = try await loop.submit { () -> pthread_t in
            var signals = sigset_t()
            sigemptyset(&signals)
            sigaddset(&signals, SIGUSR2)
            pthread_sigmask(SIG_UNBLOCK, &signals, nil)
            return pthread_self()
        }
        let router = try await ZMQSocketActor.make(on: loop, type: .router, options: [.routerMandatory(true)])
        let endpoint = privateEndpoint("signals")
        try await router.bind(endpoint)
        let dealer = try await ZMQSocketActor.make(on: loop, type: .dealer)
        try await dealer.connect(endpoint)
        try await router.onMessage { frames in
            _ = try? router.assumeIsolated { try $0.send(frames) }   // echo, routing id first
        }

        let storm = SignalStorm(thread: loopThread, signal: SIGUSR2)
        let count = 5_000
        for index in 0..<count {
            try await dealer.send([[], NumberedFrame.make(index), Array(repeating: 7, count: 16)])
        }
        var received = 0
        var torn = 0
        for await frames in dealer.messages {
            if frames.count != 3 || frames[1].count != 4 || frames[2].count != 16 {
                torn += 1
            } else {
                let value = NumberedFrame.number(in: frames[1])
                #expect(value == UInt32(received))
            }
            received += 1
            if received == count { break }
        }
        let signalsSent = storm.stop()
        #expect(torn == 0)
        #expect(received == count)
        #expect(signalsSent > 1_000, "the storm must have been running while the messages moved")
        await loop.shutdown()
    }
}

/// A thread that sends `signal` to one thread as fast as it can until stopped (at most
/// 5,000,000 signals or 60 seconds).
private final class SignalStorm: Sendable {
    private let stopped = Atomic<Bool>(false)
    private let sent = Atomic<Int>(0)
    private let finished = Atomic<Bool>(false)

    init(thread: pthread_t, signal: Int32) {
        _ = startDetachedThread { [self] in
            let deadline = ContinuousClock.now.advanced(by: .seconds(60))
            var count = 0
            while !stopped.load(ordering: .relaxed), count < 5_000_000 {
                if count % 1024 == 0, ContinuousClock.now > deadline { break }
                if pthread_kill(thread, signal) != 0 { break }
                count += 1
            }
            sent.store(count, ordering: .relaxed)
            finished.store(true, ordering: .releasing)
        }
    }

    /// Stops the storm and returns how many signals it sent.
    func stop() -> Int {
        stopped.store(true, ordering: .relaxed)
        while !finished.load(ordering: .acquiring) { sched_yield() }
        return sent.load(ordering: .relaxed)
    }
}
