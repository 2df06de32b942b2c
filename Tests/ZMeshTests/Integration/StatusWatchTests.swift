import Foundation
import Testing
@testable import ZMesh
import ZMeshTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `zmesh status --watch` as a process against a mesh from scripts/mesh-up.sh.
@Suite("zmesh status --watch", .serialized, .oneMeshAtATime)
struct StatusWatchTests {
    @Test func watchRefreshesUntilSIGINTThenExitsZero() async throws {
        let mesh = try await MeshUnderTest("topologies/brokerless.yaml")
        defer { Task { await mesh.down() } }
        let watcher = try ChildProcess(name: "status-watch", executable: try Repository.zmeshBinary(),
                                       arguments: ["status", "--watch", "--interval", "0.2", "--config", mesh.file],
                                       environment: mesh.environment)
        // Three refreshes, each a whole table: a header, then a live row per service of each
        // instance (echo and stream on echo-1 and echo-2, kv on kv-1).
        let refreshed = await eventually(timeout: .seconds(20)) {
            Self.frames(watcher.log).filter { $0.components(separatedBy: " live ").count - 1 == 5 }.count >= 3
        }
        #expect(refreshed, "no three refreshes: \(watcher.log)")
        #expect(watcher.isRunning, "zmesh status --watch stopped by itself: \(watcher.log)")
        watcher.signal(SIGINT)
        let status = await watcher.waitForExit(timeout: .seconds(10))
        #expect(status == 0, "zmesh status --watch should exit 0 on SIGINT: \(watcher.log)")
        if status == nil { await watcher.stop() }

        // --interval alone, or with --wait, is a usage error.
        let alone = try await mesh.zmesh(["status", "--interval", "1"])
        #expect(alone.status == 64)
        #expect(alone.stderr.contains("--watch"))
        let both = try await mesh.zmesh(["status", "--watch", "--wait", "5"])
        #expect(both.status == 64)
        await mesh.down()
    }

    /// The refreshes in a log: each starts with the `mesh FILE (KIND); REGISTRY answered` line.
    static func frames(_ log: String) -> [String] {
        log.components(separatedBy: "\nmesh ").enumerated().compactMap { index, part in
            index == 0 && !part.hasPrefix("mesh ") ? nil : part
        }
    }
}
