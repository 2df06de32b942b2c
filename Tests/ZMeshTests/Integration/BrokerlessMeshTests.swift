import Foundation
import Synchronization
import Testing
@testable import ZMesh
#if canImport(Glibc)
import Glibc
#endif

/// Broker-less meshes started by scripts/mesh-up.sh from topology files: real processes,
/// real kill -9.
@Suite("Broker-less mesh from a topology file", .serialized)
struct BrokerlessMeshTests {
    @Test func theCommandLineCallsServicesByName() async throws {
        let mesh = try await MeshUnderTest("topologies/brokerless.yaml")
        defer { Task { await mesh.down() } }
        let echo = try await mesh.zmesh(["call", "echo", "hello"])
        #expect(echo.status == 0, "\(echo.stderr)")
        #expect(echo.stdout == "hello")
        #expect(try await mesh.zmesh(["call", "kv.put", "color=blue"]).stdout == "OK")
        #expect(try await mesh.zmesh(["call", "kv.get", "color"]).stdout == "blue")
        let missing = try await mesh.zmesh(["call", "kv.get", "nothing"])
        #expect(missing.status == 7)
        let nothing = try await mesh.zmesh(["call", "weather", "x"])
        #expect(nothing.status == 4)
        let status = try await mesh.zmesh(["status"])
        #expect(status.status == 0)
        for node in ["echo-1", "echo-2", "kv-1"] { #expect(status.stdout.contains(node)) }
        #expect(status.stdout.components(separatedBy: " live ").count - 1 == 3)
        await mesh.down()
    }

    @Test func killingOneOfTwoInstancesUnderLoadLosesNoCall() async throws {
        let mesh = try await MeshUnderTest("topologies/brokerless.yaml")
        defer { Task { await mesh.down() } }
        let client = try mesh.client()
        let watcher = try mesh.client()

        // Without a failure first, for the p99 to compare with.
        let calm = try await Load.run(client: client, calls: 5_000, concurrency: 32, keyPrefix: "calm")
        #expect(calm.failures.isEmpty)

        // Now kill -9 echo-1 when a fifth of the calls are done.
        let killedAt = Locked<ContinuousClock.Instant?>(nil)
        let evictedAfter = Locked<Duration?>(nil)
        let load = try await Load.run(client: client, calls: 5_000, concurrency: 32, keyPrefix: "kill") { done in
            guard done == 1_000 else { return }
            Task {
                let start = ContinuousClock.now
                try await mesh.kill9("echo-1")
                killedAt.value = start
                // Watch the registry drop it.
                while ContinuousClock.now - start < .seconds(5) {
                    let instances = try await watcher.instances(of: "echo")
                    if !instances.contains(where: { $0.node == "echo-1" }) {
                        evictedAfter.value = ContinuousClock.now - start
                        return
                    }
                    try await Task.sleep(for: .milliseconds(10))
                }
            }
        }
        #expect(await eventually(timeout: .seconds(6)) { evictedAfter.value != nil })
        let killTime = try #require(killedAt.value)
        let eviction = try #require(evictedAfter.value)

        // Every call succeeded with the right reply, and none ran twice on an instance.
        #expect(load.failures.isEmpty, "failed calls: \(load.failures.prefix(5))")
        #expect(load.succeeded == 5_000)
        #expect(load.wrongReplies == 0)
        // The registry dropped it within three heartbeat intervals of the kill (+ polling slack).
        #expect(eviction <= .milliseconds(1_500 + 250))

        let window = load.latencies(startedIn: killTime..<(killTime + .seconds(2)))
        print("""
            FAILOVER brokerless: kill -9 to eviction \(eviction.formatted(.units(allowed: [.milliseconds]))); \
            calls lost 0 of \(load.succeeded + load.failures.count); retries \(await client.stats().retries); \
            p99 calm \(calm.p99) us, p99 in the 2 s after the kill \(Load.percentile(window, 0.99)) us (\(window.count) calls); \
            p50 calm \(calm.p50) us
            """)
        await client.shutdown()
        await watcher.shutdown()
        await mesh.down()
    }

    @Test func aRestartedInstanceRejoinsAndGetsTrafficAgain() async throws {
        let mesh = try await MeshUnderTest("topologies/brokerless.yaml")
        defer { Task { await mesh.down() } }
        let client = try mesh.client()
        try await mesh.kill9("echo-1")
        #expect(await eventually(timeout: .seconds(5)) {
            await (try? client.instances(of: "echo"))?.count == 1
        })
        for _ in 0..<10 { #expect(try await client.call("echo.whoami", []).text == "echo-2") }
        try mesh.restart("echo-1")
        #expect(await eventually(timeout: .seconds(15)) {
            var seen = Set<String>()
            for _ in 0..<20 { seen.insert((try? await client.call("echo.whoami", []).text) ?? "") }
            return seen.contains("echo-1")
        }, "the restarted echo-1 got no calls")
        await client.shutdown()
        await mesh.down()
    }

    @Test func withTwoRegistriesKillingOneLeavesCallsByNameWorking() async throws {
        let mesh = try await MeshUnderTest("Tests/Fixtures/two-registries.yaml")
        defer { Task { await mesh.down() } }
        let client = try mesh.client()
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
