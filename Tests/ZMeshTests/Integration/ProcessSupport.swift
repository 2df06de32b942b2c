import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where the repository and its built `zmesh` are.
enum Repository {
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `$ZMESH_BIN`, else `.build/debug/zmesh`. scripts/test.sh builds it before `swift test`.
    static func zmeshBinary() throws -> String {
        let path = ProcessInfo.processInfo.environment["ZMESH_BIN"] ?? root.appendingPathComponent(".build/debug/zmesh").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw ProcessFailure("no zmesh binary at \(path): run `swift build` first (scripts/test.sh does)")
        }
        return path
    }
}

struct ProcessFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A child process a test started; always stopped by its PID.
final class ChildProcess: @unchecked Sendable {
    // @unchecked: `process` is only started once in init; Foundation.Process is thread-safe
    // for the read-only queries used here (processIdentifier, isRunning, terminationStatus).
    let process = Process()
    let name: String
    let logURL: URL

    init(name: String, executable: String, arguments: [String], environment: [String: String] = [:]) throws {
        self.name = name
        logURL = FileManager.default.temporaryDirectory.appendingPathComponent("zmesh-test-\(name)-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = log
        process.standardError = log
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// Sends a signal to the process by its PID.
    func signal(_ signal: Int32) {
        if process.isRunning { _ = Glibc.kill(pid, signal) }
    }

    /// Waits up to `timeout` for the process to end; returns its exit status, or nil if it still runs.
    func waitForExit(timeout: Duration = .seconds(10)) async -> Int32? {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// SIGTERM, then SIGKILL if it is still there after `grace`.
    func stop(grace: Duration = .seconds(5)) async {
        signal(SIGTERM)
        if await waitForExit(timeout: grace) == nil {
            signal(SIGKILL)
            _ = await waitForExit(timeout: .seconds(5))
        }
    }

    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    deinit {
        if process.isRunning { _ = Glibc.kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: logURL)
    }
}

/// Runs a command to completion and returns its exit status, stdout and stderr.
///
/// Output goes through temporary files, not pipes: a command that leaves daemons behind
/// (scripts/mesh-up.sh) must not keep the test waiting for an end-of-file that never comes.
func runCommand(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                timeout: Duration = .seconds(60)) async throws -> (status: Int32, stdout: String, stderr: String) {
    let directory = FileManager.default.temporaryDirectory
    let outURL = directory.appendingPathComponent("zmesh-run-\(UUID().uuidString).out")
    let errURL = directory.appendingPathComponent("zmesh-run-\(UUID().uuidString).err")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    defer {
        try? FileManager.default.removeItem(at: outURL)
        try? FileManager.default.removeItem(at: errURL)
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    process.standardOutput = try FileHandle(forWritingTo: outURL)
    process.standardError = try FileHandle(forWritingTo: errURL)
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while process.isRunning && ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(10))
    }
    let stdout = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
    let stderr = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
    if process.isRunning {
        _ = Glibc.kill(process.processIdentifier, SIGKILL)
        throw ProcessFailure("\(executable) \(arguments.joined(separator: " ")) ran past \(timeout):\n\(stdout)\n\(stderr)")
    }
    return (process.terminationStatus, stdout, stderr)
}

/// Loopback TCP ports nobody listens on now (the kernel picks them; a test binds them soon after).
func freePorts(_ count: Int) throws -> [Int] {
    var sockets: [Int32] = []
    defer { for fd in sockets { close(fd) } }
    var ports: [Int] = []
    for _ in 0..<count {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ProcessFailure("socket() failed") }
        sockets.append(fd)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw ProcessFailure("bind() failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        ports.append(Int(UInt16(bigEndian: address.sin_port)))
    }
    return ports
}
