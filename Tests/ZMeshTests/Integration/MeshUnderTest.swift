import Foundation
import Testing
@testable import ZMesh
import ZMeshEtcd
import ZMeshTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A mesh brought up from a topology file by the real scripts/mesh-up.sh, on ports shifted
/// by a free offset, in its own run directory; torn down by scripts/mesh-down.sh.
final class MeshUnderTest: @unchecked Sendable {
    // @unchecked: every property is set in init and never changed, except `restarted`,
    // which only the test's own task touches.
    let file: String
    let runDirectory: URL
    let environment: [String: String]
    let topology: Topology
    private var restarted: [ChildProcess] = []

    /// Brings the mesh in `file` (relative to the repository) up and waits until it is; its
    /// processes also get `extraEnvironment`.
    init(_ file: String, extraEnvironment: [String: String] = [:]) async throws {
        self.file = file.hasPrefix("/") ? file : Repository.root.appendingPathComponent(file).path
        runDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("zmesh-mesh-\(UUID().uuidString)")
        let unshifted = try Topology.load(path: self.file, environment: [:])
        let offset = try Self.freeOffset(for: unshifted)
        environment = [
            "ZMESH_BIN": try Repository.zmeshBinary(),
            "ZMESH_PORT_OFFSET": String(offset),
            "MESH_RUN_DIR": runDirectory.path,
            "MESH_DOWN_GRACE": "5",
            "ZMESH_LOG_LEVEL": "info",
        ].merging(extraEnvironment) { _, extra in extra }
        topology = try Topology.load(path: self.file, environment: environment)
        let up: (status: Int32, stdout: String, stderr: String)
        do {
            up = try await runCommand(Repository.root.appendingPathComponent("scripts/mesh-up.sh").path, [self.file],
                                      environment: environment, timeout: .seconds(60))
        } catch {
            // mesh-up.sh stops what it started when it fails, but not when it is killed for
            // running past the timeout: its nodes are daemons, so stop them here.
            _ = try? await runCommand(Repository.root.appendingPathComponent("scripts/mesh-down.sh").path, [],
                                      environment: environment, timeout: .seconds(30))
            throw error
        }
        guard up.status == 0 else {
            throw ProcessFailure("mesh-up.sh \(file) failed (\(up.status)):\n\(up.stdout)\n\(up.stderr)")
        }
    }

    /// An offset that puts every port of the file on a port nobody listens on now.
    private static func freeOffset(for topology: Topology) throws -> Int {
        let ports = Self.ports(of: topology)
        guard let lowest = ports.min(), let highest = ports.max() else { return 0 }
        let base = try TestPorts.shared.take(1, contiguousSpan: highest - lowest + 1,
                                             needed: ports.map { $0 - lowest })[0]
        return base - lowest
    }

    private static func ports(of topology: Topology) -> [Int] {
        let endpoints = topology.registries.flatMap { [$0.bind, $0.publish].compactMap { $0 } }
            + topology.brokers.flatMap { [$0.bind, $0.workers].compactMap { $0 } }
            + topology.services.map(\.bind) + topology.nodes.compactMap(\.metrics)
        return endpoints.compactMap { endpoint in endpoint.split(separator: ":").last.flatMap { Int($0) } }
    }

    /// The PID mesh-up.sh recorded for `node`.
    func pid(of node: String) throws -> Int32 {
        let text = try String(contentsOf: runDirectory.appendingPathComponent("\(node).pid"), encoding: .utf8)
        guard let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { throw ProcessFailure("bad pid file for \(node)") }
        return pid
    }

    /// kill -9, by PID; returns when the process is gone.
    func kill9(_ node: String) async throws {
        let pid = try pid(of: node)
        guard Glibc.kill(pid, SIGKILL) == 0 else { throw ProcessFailure("kill -9 \(pid) failed") }
        _ = await eventually(timeout: .seconds(5)) { Glibc.kill(pid, 0) != 0 || Self.isZombie(pid) }
    }

    private static func isZombie(_ pid: Int32) -> Bool {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        return status.split(separator: " ").dropFirst(2).first == "Z"
    }

    /// Starts `node` again as mesh-up.sh does: `zmesh node NAME --config FILE`, or, for a
    /// service entry with `executable:` (a product of this package), `EXECUTABLE ARGS...
    /// --node NAME --config FILE`. Returns the new process (stopped by ``down()``).
    @discardableResult
    func restart(_ node: String) throws -> ChildProcess {
        let zmesh = try Repository.zmeshBinary()
        var executable = zmesh
        var arguments = ["node", node, "--config", file]
        if case .service(let service)? = topology.node(named: node), let program = service.executable {
            executable = program.hasPrefix("/") ? program
                : URL(fileURLWithPath: zmesh).deletingLastPathComponent().appendingPathComponent(program).path
            arguments = service.arguments + ["--node", node, "--config", file]
        }
        let process = try ChildProcess(name: node, executable: executable, arguments: arguments, environment: environment)
        restarted.append(process)
        return process
    }

    func log(of node: String) -> String {
        (try? String(contentsOf: runDirectory.appendingPathComponent("\(node).log"), encoding: .utf8)) ?? ""
    }

    /// Runs `body`; if it throws, first writes the last lines of every node's log to standard
    /// error, so that a failure seen only in CI says what the nodes saw (their run directory is
    /// gone once the mesh is down).
    func printingLogsOnFailure<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            for node in topology.nodes.map(\.name) {
                let tail = log(of: node).split(separator: "\n", omittingEmptySubsequences: false).suffix(40)
                FileHandle.standardError.write(Data("--- \(node).log (last \(tail.count) lines)\n\(tail.joined(separator: "\n"))\n".utf8))
            }
            throw error
        }
    }

    func client(configure: (inout MeshClient.Configuration) -> Void = { _ in }) throws -> MeshClient {
        try MeshClient(topology: topology, logger: testLogger, directory: topology.etcdDirectory(), configure: configure)
    }

    /// Starts a process as this test's own (stopped by ``down()``), such as an etcd again.
    func startProcess(_ name: String, executable: String, arguments: [String]) throws -> ChildProcess {
        let process = try ChildProcess(name: name, executable: executable, arguments: arguments, environment: environment)
        restarted.append(process)
        return process
    }

    /// Runs `zmesh ARGS --config FILE` against this mesh.
    /// `input`, if given, is its standard input.
    func zmesh(_ arguments: [String], input: URL? = nil) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await runCommand(try Repository.zmeshBinary(), arguments + ["--config", file], environment: environment, input: input)
    }

    /// scripts/mesh-down.sh, then any process this test restarted.
    func down() async {
        _ = try? await runCommand(Repository.root.appendingPathComponent("scripts/mesh-down.sh").path, [],
                                  environment: environment, timeout: .seconds(30))
        for process in restarted { await process.stop() }
    }
}
