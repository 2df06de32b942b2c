import Foundation
import Testing
@testable import ZMesh
import ZMeshTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// deploy/systemd/zmesh-node@.service: systemd accepts it, and the command line its
/// ExecStart runs (with %i and the environment file's variables) starts a node that its
/// ExecStartPost probe finds live, and that SIGTERM drains to exit 0 within TimeoutStopSec.
@Suite("The systemd unit", .serialized, .oneMeshAtATime)
struct SystemdUnitTests {
    static let unitPath = Repository.root.appendingPathComponent("deploy/systemd/zmesh-node@.service").path
    static let environmentPath = Repository.root.appendingPathComponent("deploy/systemd/zmesh.env").path
    /// Where the unit expects the binary; the tests put the one just built in its place.
    static let installedBinary = "/usr/local/bin/zmesh"

    static let systemdAnalyze: String? = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test(.enabled(if: systemdAnalyze != nil, "systemd-analyze is not installed: the unit file is not verified (the ExecStart test still runs)"))
    func systemdAnalyzeVerifyAcceptsTheUnit() async throws {
        let analyze = try #require(Self.systemdAnalyze)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("zmesh-unit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // verify checks that ExecStart's program exists: point it at the one just built.
        let text = try String(contentsOfFile: Self.unitPath, encoding: .utf8)
            .replacingOccurrences(of: Self.installedBinary, with: try Repository.zmeshBinary())
        for name in ["zmesh-node@.service", "zmesh-node@echo-1.service"] {
            let path = directory.appendingPathComponent(name).path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let result = try await runCommand(analyze, ["verify", path], timeout: .seconds(30))
            #expect(result.status == 0, "systemd-analyze verify \(name): \(result.stderr)")
            // verify exits 0 on a misspelt key or value, with a warning naming the file.
            #expect(!result.stderr.contains(name) && !result.stdout.contains(name),
                    "systemd-analyze verify \(name) warned: \(result.stderr)\(result.stdout)")
        }
    }

    @Test func execStartRunsANodeThatDrainsAndExitsZeroWithinTheStopTimeout() async throws {
        let unit = try SystemdUnitFile(contentsOf: Self.unitPath)
        let execStart = try #require(unit.value("ExecStart"))
        let probe = try #require(unit.value("ExecStartPost"))
        let stopTimeout = try #require(unit.value("TimeoutStopSec").flatMap(SystemdUnitFile.seconds))
        // Longer than the drain: the grace period plus the socket's linger and the context's end.
        let grace = ServiceNode.Configuration(name: "x", bind: "tcp://127.0.0.1:1").gracePeriod
        #expect(stopTimeout > Double(grace.components.seconds) + 3)
        #expect(unit.value("Restart") == "on-failure")
        #expect(unit.value("EnvironmentFile") == "/etc/zmesh/zmesh.env")

        // The shipped environment file, with ZMESH_CONFIG naming a file of this test's.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("zmesh-unit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let ports = try freePorts(3)
        let topologyPath = directory.appendingPathComponent("mesh.yaml").path
        try """
            topology: brokerless
            heartbeat: { interval_ms: 200, liveness: 3 }
            registries:
              - { name: registry-1, bind: "tcp://127.0.0.1:\(ports[0])", publish: "tcp://127.0.0.1:\(ports[1])" }
            services:
              - { name: sleep-1, service: sleep, bind: "tcp://127.0.0.1:\(ports[2])" }
            """.write(toFile: topologyPath, atomically: true, encoding: .utf8)
        let shipped = try String(contentsOfFile: Self.environmentPath, encoding: .utf8)
        #expect(shipped.contains("\nZMESH_CONFIG="))
        let environmentFile = directory.appendingPathComponent("zmesh.env").path
        try shipped.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("ZMESH_CONFIG=") ? "ZMESH_CONFIG=\(topologyPath)" : String($0) }
            .joined(separator: "\n").write(toFile: environmentFile, atomically: true, encoding: .utf8)
        let environment = try SystemdUnitFile.environment(contentsOf: environmentFile)
        #expect(environment["ZMESH_CONFIG"] == topologyPath)

        let zmesh = try Repository.zmeshBinary()
        func commandLine(_ line: String, _ instance: String) throws -> [String] {
            try SystemdUnitFile.command(line, instance: instance, environment: environment)
                .map { $0.replacingOccurrences(of: Self.installedBinary, with: zmesh) }
        }
        var nodes: [String: ChildProcess] = [:]
        defer { for node in nodes.values { node.signal(SIGKILL) } }
        for instance in ["registry-1", "sleep-1"] {
            let command = try commandLine(execStart, instance)
            #expect(command.dropFirst() == ["node", instance, "--config", topologyPath][...])
            nodes[instance] = try ChildProcess(name: "unit-\(instance)", executable: command[0],
                                               arguments: Array(command.dropFirst()), environment: environment)
            // Ready: the unit's own probe (bounded: 100 pings) finds it live.
            let post = try commandLine(probe, instance)
            let ready = try await runCommand(post[0], Array(post.dropFirst()), environment: environment, timeout: .seconds(40))
            #expect(ready.status == 0, "ExecStartPost for \(instance): \(ready.stderr)\n\(nodes[instance]?.log ?? "")")
        }
        let service = try #require(nodes["sleep-1"]), registry = try #require(nodes["registry-1"])

        // A call in progress when systemd stops the unit still gets its reply.
        let client = try MeshClient(topology: try Topology.load(path: topologyPath, environment: [:]), logger: testLogger)
        // Live (the probe) comes a heartbeat before listed: wait for the registry, as a rolling
        // restart does before it stops the next instance (docs/DEPLOYMENT.md).
        #expect(await eventually(timeout: .seconds(10)) { await (try? client.instances(of: "sleep"))?.isEmpty == false })
        let held = Task { try await client.call("sleep", "1500".bytes, options: CallOptions(timeout: .seconds(20))) }
        #expect(await eventually(timeout: .seconds(10)) { await (try? client.instances(of: "sleep"))?.first?.load == 1 })
        let stopped = ContinuousClock.now
        service.signal(SIGTERM)   // what `systemctl stop` sends (KillSignal=SIGTERM, KillMode=mixed)
        #expect(try await held.value.text == "1500")
        let status = await service.waitForExit(timeout: .seconds(stopTimeout))
        let took = ContinuousClock.now - stopped
        #expect(status == 0, "sleep-1 did not exit 0 within TimeoutStopSec=\(stopTimeout) s: \(service.log)")
        #expect(service.log.contains("left the registries") && service.log.contains("node stopped"), "\(service.log)")
        #expect(await eventually { ((try? await client.instances(of: "sleep")) ?? []).isEmpty })
        print("SYSTEMD-UNIT: sleep-1 drained and exited \(status.map(String.init) ?? "-") in \(took) (TimeoutStopSec=\(stopTimeout))")

        registry.signal(SIGTERM)
        #expect(await registry.waitForExit(timeout: .seconds(stopTimeout)) == 0, "\(registry.log)")
        await client.shutdown()
    }
}
