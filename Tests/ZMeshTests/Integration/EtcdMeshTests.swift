import Foundation
import Testing
@testable import ZMesh
import ZMeshEtcd
import ZMeshTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// topologies/etcd.yaml and etcd-brokered.yaml brought up by the real scripts (which start a
/// real etcd), under load: kill -9 of an instance, then of etcd, then etcd back.
@Suite("A mesh on etcd", .serialized, .oneMeshAtATime,
       .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/etcd"), "needs etcd (scripts/test.sh installs etcd-server)"))
struct EtcdMeshTests {
    /// Calls `echo` from `workers` tasks until `stop` is set; counts what came back.
    final class Load: Sendable {
        let ok = Locked(0)
        let failures = Locked<[String]>([])
        let stop = Locked(false)

        func run(_ client: MeshClient, workers: Int) -> Task<Void, Never> {
            Task {
                await withTaskGroup(of: Void.self) { group in
                    for worker in 0..<workers {
                        group.addTask {
                            var index = 0
                            // Bounded: 60 s at most, whatever the test does.
                            let deadline = ContinuousClock.now.advanced(by: .seconds(60))
                            while !self.stop.value, ContinuousClock.now < deadline {
                                index += 1
                                let payload = Array("\(worker)-\(index)".utf8)
                                do {
                                    let reply = try await client.call("echo", payload, options: CallOptions(timeout: .seconds(5)))
                                    if reply == payload { self.ok.update { $0 += 1 } } else { self.failures.update { $0.append("wrong reply") } }
                                } catch {
                                    self.failures.update { $0.append("\(error)") }
                                }
                            }
                        }
                    }
                }
            }
        }

        /// Waits until `more` further calls have succeeded (20 s at most).
        func waitFor(_ more: Int) async -> Bool {
            let target = ok.value + more
            return await eventually(timeout: .seconds(20)) { self.ok.value >= target }
        }
    }

    @Test(arguments: ["topologies/etcd.yaml", "topologies/etcd-brokered.yaml"])
    func killingAnInstanceThenEtcdUnderLoadLosesNoCall(file: String) async throws {
        let mesh = try await MeshUnderTest(file)
        defer { Task { await mesh.down() } }
        let directory = try #require(mesh.topology.etcdDirectory())
        let client = try mesh.client()
        let load = Load()
        let running = load.run(client, workers: 8)
        #expect(await load.waitFor(200))

        // An instance dies: its key goes when its lease runs out, its calls fail over.
        let killedAt = ContinuousClock.now
        try await mesh.kill9("echo-1")
        let evicted = await eventually(timeout: .seconds(6)) {
            (try? await directory.instances().contains { $0.node == "echo-1" }) == false
        }
        #expect(evicted, "echo-1 still in etcd \(ContinuousClock.now - killedAt) after kill -9")
        print("ETCD \(file): echo-1 evicted \(ContinuousClock.now - killedAt) after kill -9")
        #expect(await load.waitFor(200))

        // etcd dies: calls go on with the instances last known, and nodes say so.
        let etcdPID = try mesh.pid(of: "etcd")
        let etcdCommand = try Self.commandLine(of: etcdPID)
        try await mesh.kill9("etcd")
        #expect(await load.waitFor(500))
        let warned = await eventually(timeout: .seconds(10)) { mesh.log(of: "echo-2").contains("cannot announce this instance") }
        #expect(warned, "echo-2 should warn that it cannot announce:\n\(mesh.log(of: "echo-2"))")
        if mesh.topology.kind == .brokered {
            #expect(mesh.log(of: "broker-1").contains("lost the instance directory"), "\(mesh.log(of: "broker-1"))")
        }

        // etcd back (same data, same address): the instances register again and are followed.
        let restarted = try mesh.startProcess("etcd-again", executable: etcdCommand[0], arguments: Array(etcdCommand.dropFirst()))
        let converged = await eventually(timeout: .seconds(20)) {
            let nodes = Set((try? await directory.instances())?.map(\.node) ?? [])
            return nodes == ["echo-2", "kv-1"]
        }
        let afterwards = (try? await directory.instances().map(\.node)) ?? []
        #expect(converged, "after etcd came back: \(afterwards)")
        #expect(await load.waitFor(200))
        load.stop.value = true
        await running.value
        #expect(load.failures.value.isEmpty, "\(load.failures.value.count) calls failed: \(load.failures.value.prefix(5))")
        print("ETCD \(file): \(load.ok.value) calls, \(load.failures.value.count) failed")
        await client.shutdown()
        await restarted.stop()
        await mesh.down()
    }

    @Test func aNodeStartingWithoutEtcdSaysWhichEndpointItCannotReach() async throws {
        let ports = try freePorts(2)
        let port = ports[0]
        let yaml = """
            topology: brokerless
            registry: { etcd: { endpoints: ["http://127.0.0.1:\(port)"] } }
            services:
              - { name: echo-1, service: echo, bind: "tcp://127.0.0.1:\(ports[1])" }
            """
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("zmesh-no-etcd-\(UUID().uuidString).yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let node = try ChildProcess(name: "echo-1", executable: try Repository.zmeshBinary(), arguments: ["node", "echo-1", "--config", file.path])
        let said = await eventually(timeout: .seconds(10)) {
            node.log.contains("cannot announce this instance") && node.log.contains("cannot reach etcd at http://127.0.0.1:\(port)")
        }
        #expect(said, "the node's log:\n\(node.log)")
        await node.stop()
    }

    /// The program (its path) and arguments of process `pid`.
    static func commandLine(of pid: Int32) throws -> [String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))
        let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        return [try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")] + arguments.dropFirst()
    }
}
