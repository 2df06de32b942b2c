#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The signals that drain a node: SIGTERM and SIGINT.
public enum ShutdownSignals {
    /// Unblocks SIGTERM and SIGINT in the calling thread. Call it first thing in `main`.
    ///
    /// A signal mask is inherited across exec, and a parent that starts the program from a
    /// thread blocking them (Foundation's `Process` called from a Swift concurrency thread
    /// does) would otherwise make the graceful shutdown unreachable: the node would sit out
    /// every SIGTERM until a SIGKILL. ``NodeProgram/run(label:_:)`` calls it for you.
    public static func unblock() {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
    }
}
