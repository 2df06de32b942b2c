import Testing

/// Runs each test of a suite with this trait alone among integration tests: meshes of real
/// processes are heavy for a 2-core machine, and timing-sensitive tests (failover windows,
/// heartbeat eviction) must not share it with other meshes. Unit tests still run alongside.
struct OneMeshAtATime: SuiteTrait, TestTrait, TestScoping {
    var isRecursive: Bool { true }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        // Suites themselves just pass through; each test (case) takes the lock.
        guard !test.isSuite else {
            try await function()
            return
        }
        await MeshLock.shared.acquire()
        do {
            try await function()
        } catch {
            await MeshLock.shared.release()
            throw error
        }
        await MeshLock.shared.release()
    }
}

extension Trait where Self == OneMeshAtATime {
    /// Integration tests with real meshes run one at a time, across suites.
    static var oneMeshAtATime: OneMeshAtATime { OneMeshAtATime() }
}

/// A process-wide FIFO lock for async code.
actor MeshLock {
    static let shared = MeshLock()
    private var held = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        if !held {
            held = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty {
            held = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}
