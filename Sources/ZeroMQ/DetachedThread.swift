#if canImport(Glibc)
import Glibc
#endif

/// Runs `body` on a new detached POSIX thread (not a Swift concurrency thread: `body` may
/// block). Returns 0, or pthread_create's error without running `body`.
func startDetachedThread(_ body: @escaping @Sendable () -> Void) -> Int32 {
    final class Work {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    var thread = pthread_t()
    let retained = Unmanaged.passRetained(Work(body)).toOpaque()
    let rc = pthread_create(&thread, nil, { argument in
        guard let argument else { return nil }
        Unmanaged<Work>.fromOpaque(argument).takeRetainedValue().body()
        return nil
    }, retained)
    guard rc == 0 else {
        Unmanaged<Work>.fromOpaque(retained).release()
        return rc
    }
    pthread_detach(thread)
    return 0
}
