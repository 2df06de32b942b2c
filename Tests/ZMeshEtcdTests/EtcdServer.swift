import Foundation
import ZMeshEtcd
import ZMeshTestSupport

/// A real single-member etcd (Debian's etcd-server, installed by scripts/test.sh) on free
/// loopback ports with its data in a temporary directory; stopped by its PID.
final class EtcdServer: Sendable {
    let endpoint: String
    let process: SpawnedProcess
    let directory: URL

    /// Where etcd is, or nil if it is not installed.
    static func binary() -> String? {
        for path in ["/usr/bin/etcd", "/usr/local/bin/etcd"] where FileManager.default.isExecutableFile(atPath: path) { return path }
        return nil
    }

    static var isInstalled: Bool { binary() != nil }

    /// Starts etcd and waits (5 s at most) until it answers.
    init() async throws {
        guard let binary = Self.binary() else { throw ServerFailure("etcd is not installed (scripts/test.sh installs etcd-server)") }
        let client = try Self.freePort(), peer = try Self.freePort()
        endpoint = "http://127.0.0.1:\(client)"
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("zmesh-etcd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let log = directory.appendingPathComponent("etcd.log").path
        process = try SpawnedProcess(
            executable: binary,
            arguments: ["--name", "test", "--data-dir", directory.appendingPathComponent("data").path,
                        "--listen-client-urls", endpoint, "--advertise-client-urls", endpoint,
                        "--listen-peer-urls", "http://127.0.0.1:\(peer)",
                        "--initial-advertise-peer-urls", "http://127.0.0.1:\(peer)",
                        "--initial-cluster", "test=http://127.0.0.1:\(peer)"],
            standardOutput: .file(log), standardError: .standardOutput)
        let deadline = ContinuousClock.now.advanced(by: .seconds(5))
        while ContinuousClock.now < deadline {
            if await Self.answers(endpoint) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        stop()
        throw ServerFailure("etcd did not answer at \(endpoint) within 5 s")
    }

    /// kill -9, as a crash would.
    func kill9() { process.signal(SIGKILL); process.waitUntilExit() }

    func stop() {
        if process.isRunning { process.signal(SIGTERM); process.waitUntilExit() }
        try? FileManager.default.removeItem(at: directory)
    }

    private static func answers(_ endpoint: String) async -> Bool {
        (try? await EtcdClient(endpoints: [endpoint], requestTimeout: .milliseconds(500)).range(prefix: "/")) != nil
    }

    static func freePort() throws -> Int {
        let (fd, port) = try bindLoopback()
        close(fd)
        return port
    }
}

/// A TCP socket bound to a port of 127.0.0.1 the kernel picked, not listening: its descriptor
/// and the port.
func bindLoopback() throws -> (fd: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else {
        close(fd)
        throw ServerFailure("no free port")
    }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}

/// A local port where nothing answers, for as long as this lives: bound, never listening, so
/// connecting to it is refused, and nothing else (a test running alongside that asks for a
/// free port) can take it meanwhile, as it could a port found free and let go.
final class ClosedPort {
    let port: Int
    private let fd: Int32

    init() throws {
        (fd, port) = try bindLoopback()
    }

    /// `http://127.0.0.1:PORT`.
    var endpoint: String { "http://127.0.0.1:\(port)" }

    deinit { close(fd) }
}

struct ServerFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
