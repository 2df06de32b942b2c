internal import CZeroMQ
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

    deinit {
        // Retries on EINTR as libzmq's documentation asks.
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
