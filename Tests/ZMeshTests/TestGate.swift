import ZMesh
import Synchronization

/// A gate test handlers wait at until the test opens it: a handler held "busy" for exactly as
/// long as the test needs, instead of sleeping for a time a loaded machine may overrun.
final class TestGate: Sendable {
    private struct State {
        var isOpen = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Suspends until ``open()`` (returns at once once it has been called).
    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state -> Bool in
                if state.isOpen { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// Lets every waiter, present and future, through.
    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.isOpen = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

extension TestHandlers {
    /// The test handlers plus `hold`, which answers its payload once `gate` opens.
    func handlers(holdingAt gate: TestGate) -> ServiceHandlers {
        var handlers = self.handlers
        handlers.register("hold") { payload, _ in
            await gate.wait()
            return payload
        }
        return handlers
    }
}
