internal import CZeroMQ
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A libzmq context: the owner of libzmq's I/O threads and every socket made from it.
///
/// libzmq contexts are thread-safe, so a context may be shared freely. The context is
/// terminated when the last reference goes away; `zmq_ctx_term` waits until every socket
/// made from it has been closed, so close sockets (on their own threads) first. The event
/// loop does this for the sockets it owns when it shuts down.
public final class ZMQContext: Sendable {
    // libzmq documents zmq_ctx_* and zmq_socket as thread-safe; the pointer itself never changes.
    nonisolated(unsafe) let handle: UnsafeMutableRawPointer

    /// Creates a context with `ioThreads` libzmq I/O threads (libzmq's default is 1).
    public init(ioThreads: Int = 1) throws(ZMQError) {
        guard let ctx = zmq_ctx_new() else { throw ZMQError.last("zmq_ctx_new") }
        if ioThreads != 1 {
            zmq_ctx_set(ctx, ZMQ_IO_THREADS, Int32(ioThreads))
        }
        // Leave signals to Swift; and a generous socket cap for brokers with many peers.
        zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, 4096)
        handle = ctx
    }

    /// Set once a termination started; after that the handle must not be used again.
    private let terminationStarted = Atomic<Bool>(false)

    /// True once ``terminate(waitingAtMost:)`` ran: no new socket can be made.
    public var isTerminated: Bool { terminationStarted.load(ordering: .acquiring) }

    deinit {
        guard !terminationStarted.load(ordering: .acquiring) else { return }
        Self.term(handle)
    }

    /// Terminates the context now, so that what closed sockets still hold (their linger) is
    /// sent before the process goes on, typically to exit. Call it once every socket of the
    /// context is closed. `zmq_ctx_term` runs on a thread of its own; this returns when it
    /// finished or after `timeout`, whichever is first (a socket left open elsewhere cannot
    /// hang the caller), and tells which. Later calls return at once.
    @discardableResult
    public func terminate(waitingAtMost timeout: Duration) async -> Bool {
        guard !terminationStarted.exchange(true, ordering: .acquiringAndReleasing) else { return true }
        let waiter = Mutex<CheckedContinuation<Bool, Never>?>(nil)
        let finish: @Sendable (Bool) -> Void = { finished in
            waiter.withLock { $0.take() }?.resume(returning: finished)
        }
        return await withCheckedContinuation { continuation in
            waiter.withLock { $0 = continuation }
            let handle = UInt(bitPattern: self.handle)
            let blocking: @Sendable () -> Void = { Self.term(UnsafeMutableRawPointer(bitPattern: handle)); finish(true) }
            if startDetachedThread(blocking) != 0 { blocking() }
            Task {
                try? await Task.sleep(for: timeout)
                finish(false)
            }
        }
    }

    /// Retries on EINTR as libzmq's documentation asks.
    private static func term(_ handle: UnsafeMutableRawPointer?) {
        guard let handle else { return }
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }

    /// libzmq's version as (major, minor, patch).
    public static var version: (major: Int, minor: Int, patch: Int) {
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return (Int(major), Int(minor), Int(patch))
    }

    /// True when this libzmq was built with CURVE security (libsodium).
    public static var hasCurve: Bool { zmq_has("curve") != 0 }
}
