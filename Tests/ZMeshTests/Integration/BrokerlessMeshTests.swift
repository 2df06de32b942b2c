import Foundation
import Synchronization
import Testing
import MeshClock
@testable import ZMesh
import ZMeshTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Broker-less meshes started by scripts/mesh-up.sh from topology files: real processes,
/// real kill -9.
@Suite("Broker-less mesh from a topology file", .serialized, .oneMeshAtATime)
struct BrokerlessMeshTests {
    @Test func withTwoRegistriesKillingOneLeavesCallsByNameWorking() async throws {
        let mesh = try await MeshUnderTest("Tests/Fixtures/two-registries.yaml")
        defer { Task { await mesh.down() } }
        let client = try mesh.client()
        try await mesh.printingLogsOnFailure {
            #expect(try await client.call("echo", "before".bytes).text == "before")
            try await mesh.kill9("registry-1")
            for index in 0..<200 {
                #expect(try await client.call("echo", "after-\(index)".bytes).text == "after-\(index)")
            }
            // A client that starts now, with one registry dead, resolves through the other.
            let fresh = try mesh.client()
            #expect(try await fresh.call("echo", "fresh".bytes).text == "fresh")
            let cli = try await mesh.zmesh(["call", "echo", "cli"])
            #expect(cli.stdout == "cli")
            await fresh.shutdown()
        }
        await client.shutdown()
        await mesh.down()
    }

    @Test func aNodeWhoseHandlersAreAllBusyForFiveSecondsIsNotEvicted() async throws {
        let mesh = try await MeshUnderTest("Tests/Fixtures/busy.yaml")
        defer { Task { await mesh.down() } }
        let client = try mesh.client()
        let busy = (0..<2).map { _ in
            Task { try await client.call("sleep", "5000".bytes, options: CallOptions(timeout: .seconds(20))) }
        }
        // Both slots taken: the node reports load 2 in its heartbeats.
        #expect(await eventually {
            await (try? client.instances(of: "sleep"))?.first?.load == 2
        })
        let until = ContinuousClock.now + .milliseconds(4_500)
        while ContinuousClock.now < until {
            let instances = try await client.instances(of: "sleep")
            #expect(instances.map(\.node) == ["sleep-1"])
            try await Task.sleep(for: .milliseconds(100))
        }
        for task in busy { #expect(try await task.value.text == "5000") }
        #expect(!mesh.log(of: "registry-1").contains("evicted"))
        await client.shutdown()
        await mesh.down()
    }
}

extension MeshClient {
    /// Live instances of `service` as a registry sees them now.
    func instances(of service: String) async throws -> [InstanceInfo] {
        let body = try await call("mesh.lookup", service.bytes, options: CallOptions(timeout: .seconds(2)))
        return try JSONDecoder().decode(LookupReply.self, from: Data(body)).instances
    }
}

/// A closed-loop load of `echo.count` calls with unique keys, recording each call.
struct Load {
    struct Call {
        let started: ContinuousClock.Instant
        let microseconds: Int
    }

    var calls: [Call] = []
    var failures: [String] = []
    var wrongReplies = 0
    var succeeded: Int { calls.count }

    var p50: Int { Load.percentile(calls.map(\.microseconds), 0.50) }
    var p99: Int { Load.percentile(calls.map(\.microseconds), 0.99) }

    func latencies(startedIn range: Range<ContinuousClock.Instant>) -> [Int] {
        calls.filter { range.contains($0.started) }.map(\.microseconds)
    }

    static func percentile(_ values: [Int], _ p: Double) -> Int {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))]
    }

    /// Runs `calls` calls, `concurrency` at a time; `progress` hears each completion count.
    static func run(client: MeshClient, calls: Int, concurrency: Int, keyPrefix: String,
                    progress: @escaping @Sendable (Int) -> Void = { _ in }) async throws -> Load {
        let next = Locked(0)
        let done = Locked(0)
        return await withTaskGroup(of: Load.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var load = Load()
                    while true {
                        let index = next.update { $0 += 1; return $0 }
                        guard index <= calls else { break }
                        let started = ContinuousClock.now
                        do {
                            let reply = try await client.call("echo.count", "\(keyPrefix)-\(index)".bytes,
                                                              options: CallOptions(timeout: .seconds(10)))
                            if reply.text != "1" { load.wrongReplies += 1 }
                            let elapsed = ContinuousClock.now - started
                            load.calls.append(Call(started: started, microseconds: Int(elapsed.nanosecondsClamped / 1_000)))
                        } catch {
                            load.failures.append("\(error)")
                        }
                        progress(done.update { $0 += 1; return $0 })
                    }
                    return load
                }
            }
            var total = Load()
            for await part in group {
                total.calls += part.calls
                total.failures += part.failures
                total.wrongReplies += part.wrongReplies
            }
            return total
        }
    }
}
