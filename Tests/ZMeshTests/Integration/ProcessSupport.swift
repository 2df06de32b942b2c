import Foundation
import ZMeshTestSupport
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
final class ChildProcess: Sendable {
    let process: SpawnedProcess
    let name: String
    let logURL: URL

    init(name: String, executable: String, arguments: [String], environment: [String: String] = [:],
         blockedSignals: [Int32] = []) throws {
        self.name = name
        logURL = FileManager.default.temporaryDirectory.appendingPathComponent("zmesh-test-\(name)-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        process = try SpawnedProcess(
            executable: executable, arguments: arguments,
            environment: ProcessInfo.processInfo.environment.merging(environment) { _, new in new },
            standardOutput: .file(logURL.path), standardError: .standardOutput, blockedSignals: blockedSignals)
    }

    var pid: Int32 { process.pid }
    var isRunning: Bool { process.isRunning }

    /// Sends a signal to the process by its PID (while it has not been reaped).
    func signal(_ signal: Int32) { process.signal(signal) }

    /// Waits up to `timeout` for the process to end; returns its exit status, or nil if it still runs.
    func waitForExit(timeout: Duration = .seconds(10)) async -> Int32? {
        await process.waitForExit(timeout: timeout)
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
        // SpawnedProcess kills and reaps a child still running when it goes.
        try? FileManager.default.removeItem(at: logURL)
    }
}

/// Runs a command to completion and returns its exit status, stdout and stderr.
///
/// Output goes through temporary files, not pipes: a command that leaves daemons behind
/// (scripts/mesh-up.sh) must not keep the test waiting for an end-of-file that never comes.
/// `input`, if given, is the command's standard input (else /dev/null).
func runCommand(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                timeout: Duration = .seconds(60), input: URL? = nil) async throws -> (status: Int32, stdout: String, stderr: String) {
    let directory = FileManager.default.temporaryDirectory
    let outURL = directory.appendingPathComponent("zmesh-run-\(UUID().uuidString).out")
    let errURL = directory.appendingPathComponent("zmesh-run-\(UUID().uuidString).err")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    defer {
        try? FileManager.default.removeItem(at: outURL)
        try? FileManager.default.removeItem(at: errURL)
    }
    let process = try SpawnedProcess(
        executable: executable, arguments: arguments,
        environment: ProcessInfo.processInfo.environment.merging(environment) { _, new in new },
        standardInput: input.map { .file($0.path) } ?? .null,
        standardOutput: .file(outURL.path), standardError: .file(errURL.path))
    let status = await process.waitForExit(timeout: timeout)
    let stdout = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
    let stderr = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
    guard let status else {
        process.signal(SIGKILL)
        throw ProcessFailure("\(executable) \(arguments.joined(separator: " ")) ran past \(timeout):\n\(stdout)\n\(stderr)")
    }
    return (status, stdout, stderr)
}

/// Loopback TCP ports nobody listens on now, for a test to bind soon after.
///
/// They come from 20000-32767, below Linux's ephemeral range (32768-60999): a port the
/// kernel picked (bind to port 0) is free again once probed, and the kernel hands it out
/// to the next outgoing connection or wildcard bind, so a mesh started a moment later could
/// find it taken. Ports below the range are only ever taken by explicit binds; a cursor
/// shared by every test of the process never hands one out twice.
func freePorts(_ count: Int) throws -> [Int] {
    try TestPorts.shared.take(count, contiguousSpan: nil)
}

/// The process-wide cursor behind ``freePorts(_:)``.
final class TestPorts: Sendable {
    static let shared = TestPorts()
    static let range = 20_000...32_767
    /// Starts at a random place, so two test processes at once rarely meet.
    private let cursor = Locked(Int.random(in: 20_000...30_000))

    /// `count` free ports; with `contiguousSpan`, the first port of a free run of that many
    /// (only the ports `needed` offsets of it must be free) is returned alone.
    func take(_ count: Int, contiguousSpan: Int?, needed: [Int] = []) throws -> [Int] {
        var ports: [Int] = []
        for _ in 0..<2_000 {
            let span = contiguousSpan ?? 1
            let first = cursor.update { next -> Int in
                if next + span > Self.range.upperBound { next = Self.range.lowerBound }
                defer { next += span }
                return next
            }
            if contiguousSpan != nil {
                if needed.allSatisfy({ isFreePort(first + $0) }) { return [first] }
                continue
            }
            if isFreePort(first) { ports.append(first) }
            if ports.count == count { return ports }
        }
        throw ProcessFailure("no free loopback port in \(Self.range)")
    }
}

/// True when nothing is bound to `port` on 127.0.0.1 now.
func isFreePort(_ port: Int) -> Bool {
    guard (1024...65535).contains(port) else { return false }
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}
