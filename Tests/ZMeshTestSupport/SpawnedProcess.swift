#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A child process started with `posix_spawn`, for the tests that run the real `zmesh`, the
/// scripts, etcd, Prometheus and the Python peers.
///
/// Not Foundation's `Process`: on Linux with Swift 6.3.1 its `run()` now and then crashes the
/// calling process. It lists `/proc/self/fd` to close inherited descriptors and copies each
/// entry's whole 256-byte name field, reading past the end of glibc's directory buffer into an
/// unmapped page (swift-corelibs-foundation pull request 5472). A test process holds hundreds
/// of sockets, and the suite met it now and then (a CI run, a local one): a SIGSEGV whose
/// backtrace froze every test for a minute.
///
/// Here the child closes every descriptor above 2 with glibc's
/// `posix_spawn_file_actions_addclosefrom_np`, starts with no signal blocked (unless asked) and
/// every signal at its default action (a cooperative thread may block some), and is reaped only by this
/// object, so its PID cannot be reused while the object can still signal it.
package final class SpawnedProcess: Sendable {
    /// Where one of the child's standard streams goes.
    package enum Stream: Sendable {
        /// `/dev/null`.
        case null
        /// This process's own.
        case inherit
        /// A file, created if missing, written at its end.
        case file(String)
        /// An open descriptor of this process (the read end of a pipe, say).
        case descriptor(Int32)
        /// Standard error only: wherever standard output goes.
        case standardOutput
    }

    package let pid: Int32
    /// The raw `waitpid` status once the child has been reaped.
    private let reaped = Mutex<Int32?>(nil)

    /// Starts `executable` (a path, or a name looked up in `PATH`) with `arguments`.
    /// `environment` nil passes this process's own. `blockedSignals` start blocked in the
    /// child, as a parent's blocked signals would (none by default).
    package init(executable: String, arguments: [String], environment: [String: String]? = nil,
                 standardInput: Stream = .null, standardOutput: Stream = .inherit,
                 standardError: Stream = .inherit, blockedSignals: [Int32] = []) throws(SpawnFailure) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        Self.redirect(&actions, STDIN_FILENO, standardInput, flags: O_RDONLY)
        Self.redirect(&actions, STDOUT_FILENO, standardOutput, flags: O_WRONLY | O_CREAT | O_APPEND)
        Self.redirect(&actions, STDERR_FILENO, standardError, flags: O_WRONLY | O_CREAT | O_APPEND)
        guard let closeFrom = Self.addCloseFrom, closeFrom(&actions, 3) == 0 else {
            throw SpawnFailure("posix_spawn_file_actions_addclosefrom_np is missing (glibc 2.34 or later has it)")
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var blocked = sigset_t(), all = sigset_t()
        sigemptyset(&blocked)
        for signal in blockedSignals { sigaddset(&blocked, signal) }
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &blocked)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) }
        let envp = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } }
        defer {
            argv.forEach { free($0) }
            envp?.forEach { free($0) }
        }
        var child: Int32 = 0
        let rc = (argv + [nil]).withUnsafeBufferPointer { argvBuffer -> Int32 in
            guard let argvStart = argvBuffer.baseAddress else { return EINVAL }
            let argvPointer = UnsafeMutablePointer(mutating: argvStart)
            guard let envp else {
                return posix_spawnp(&child, executable, &actions, &attributes, argvPointer, environ)
            }
            return (envp + [nil]).withUnsafeBufferPointer { envpBuffer -> Int32 in
                guard let envpStart = envpBuffer.baseAddress else { return EINVAL }
                return posix_spawnp(&child, executable, &actions, &attributes, argvPointer,
                                    UnsafeMutablePointer(mutating: envpStart))
            }
        }
        guard rc == 0 else { throw SpawnFailure("cannot start \(executable): \(String(cString: strerror(rc)))") }
        pid = child
    }

    /// Whether the child has not ended yet (it is reaped here once it has).
    package var isRunning: Bool { status() == nil }

    /// The exit code, or the number of the signal that ended it; nil while it runs.
    package var terminationStatus: Int32? {
        status().map { status in Self.exited(status) ? (status >> 8) & 0xff : status & 0x7f }
    }

    /// Whether a signal ended it; nil while it runs.
    package var endedBySignal: Bool? { status().map { !Self.exited($0) } }

    /// Sends `signal` if the child has not been reaped (so its PID is still its own).
    package func signal(_ signal: Int32) {
        reaped.withLock { status in
            if status == nil { _ = kill(pid, signal) }
        }
    }

    /// Waits up to `timeout` for the child to end; its ``terminationStatus``, or nil if it runs.
    @discardableResult
    package func waitForExit(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return terminationStatus
    }

    /// Blocks until the child ends (for use right after SIGKILL or SIGTERM).
    @discardableResult
    package func waitUntilExit() -> Int32 {
        reaped.withLock { status in
            var raw: Int32 = 0
            while status == nil {
                let rc = waitpid(pid, &raw, 0)
                if rc == pid { status = raw } else if rc < 0 && errno != EINTR { status = 0 }
            }
        }
        return terminationStatus ?? 0
    }

    deinit {
        if isRunning {
            signal(SIGKILL)
            waitUntilExit()
        }
    }

    /// Reaps the child if it has ended; its raw status, or nil while it runs.
    private func status() -> Int32? {
        reaped.withLock { status in
            if status == nil {
                var raw: Int32 = 0
                let rc = waitpid(pid, &raw, WNOHANG)
                if rc == pid { status = raw } else if rc < 0 && errno == ECHILD { status = 0 }
            }
            return status
        }
    }

    private static func exited(_ status: Int32) -> Bool { status & 0x7f == 0 }

    private static func redirect(_ actions: inout posix_spawn_file_actions_t, _ target: Int32, _ stream: Stream, flags: Int32) {
        switch stream {
        case .inherit: break
        case .null: posix_spawn_file_actions_addopen(&actions, target, "/dev/null", flags, 0o644)
        case .file(let path): posix_spawn_file_actions_addopen(&actions, target, path, flags, 0o644)
        case .descriptor(let fd): posix_spawn_file_actions_adddup2(&actions, fd, target)
        case .standardOutput: posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, target)
        }
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np`, which Swift's Glibc module does not
    /// declare (its header guards it behind feature macros); looked up once by name.
    private static let addCloseFrom: AddCloseFrom? = {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()

    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
}

/// A child process could not be started.
package struct SpawnFailure: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}
