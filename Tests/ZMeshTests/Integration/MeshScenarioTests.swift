import Foundation
import Testing
import MeshClock
@testable import ZMesh
import ZMeshTestSupport
import ZeroMQ
#if canImport(Glibc)
import Glibc
#endif

/// The same scenarios against both topologies: the topology file decides, the test code
/// (like users' code) does not change. Real processes from scripts/mesh-up.sh, real kill -9.
@Suite("Mesh scenarios, brokered and broker-less", .serialized, .oneMeshAtATime)
struct MeshScenarioTests {
    static let topologies = ["topologies/brokerless.yaml", "topologies/brokered.yaml"]

    @Test(arguments: topologies)
    func theCommandLineCallsServicesByName(file: String) async throws {
        let mesh = try await MeshUnderTest(file)
        defer { Task { await mesh.down() } }
        let echo = try await mesh.zmesh(["call", "echo", "hello"])
        #expect(echo.status == 0, "\(echo.stderr)")
        #expect(echo.stdout == "hello")
        #expect(try await mesh.zmesh(["call", "kv.put", "color=blue"]).stdout == "OK")
        #expect(try await mesh.zmesh(["call", "kv.get", "color"]).stdout == "blue")
        #expect(try await mesh.zmesh(["call", "kv.get", "nothing"]).status == 7)   // application error
        #expect(try await mesh.zmesh(["call", "weather", "x"]).status == 4)        // unavailable, at once
        let status = try await mesh.zmesh(["status"])
        #expect(status.status == 0)
        // A row per service of each live instance: echo and stream on echo-1 and echo-2, kv on kv-1.
        #expect(status.stdout.components(separatedBy: " live ").count - 1 == 5, "\(status.stdout)")
        await mesh.down()
    }

    @Test(arguments: topologies)
    func killingOneOfTwoInstancesUnderLoadLosesNoCall(file: String) async throws {
        let mesh = try await MeshUnderTest(file)
        defer { Task { await mesh.down() } }
        let client = try mesh.client()
        let watcher = try MeshClient(configuration: .init(discovery: .registries(mesh.topology.registryAddresses)),
                                     logger: testLogger)
        let calm = try await Load.run(client: client, calls: 5_000, concurrency: 32, keyPrefix: "calm")
        #expect(calm.failures.isEmpty)

        let killedAt = Locked<ContinuousClock.Instant?>(nil)
        let evictedAfter = Locked<Duration?>(nil)
        let load = try await Load.run(client: client, calls: 5_000, concurrency: 32, keyPrefix: "kill") { done in
            guard done == 1_000 else { return }
            Task {
                let start = ContinuousClock.now
                try await mesh.kill9("echo-1")
                killedAt.value = start
                while ContinuousClock.now - start < .seconds(5) {
                    if try await !watcher.instances(of: "echo").contains(where: { $0.node == "echo-1" }) {
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
        // Every call succeeded with its own reply, and none ran twice on an instance.
        #expect(load.failures.isEmpty, "failed calls: \(load.failures.prefix(5))")
        #expect(load.succeeded == 5_000)
        #expect(load.wrongReplies == 0)
        // The registry dropped the dead instance within three heartbeat intervals (+ polling slack).
        #expect(eviction <= .milliseconds(1_500 + 250))
        let window = load.latencies(startedIn: killTime..<(killTime + .seconds(2)))
        print("""
            FAILOVER \(mesh.topology.kind.rawValue): kill -9 to eviction \(eviction.formatted(.units(allowed: [.milliseconds]))); \
            calls lost 0 of \(load.succeeded + load.failures.count); \
            p50 calm \(calm.p50) us; p99 calm \(calm.p99) us; p99 in the 2 s after the kill \(Load.percentile(window, 0.99)) us \
            (\(window.count) calls)
            """)
        await client.shutdown()
        await watcher.shutdown()
        await mesh.down()
    }

    @Test(arguments: topologies)
    func aRestartedInstanceRejoinsAndGetsTrafficAgain(file: String) async throws {
        let mesh = try await MeshUnderTest(file)
        defer { Task { await mesh.down() } }
        let client = try mesh.client()
        let watcher = try MeshClient(configuration: .init(discovery: .registries(mesh.topology.registryAddresses)),
                                     logger: testLogger)
        try await mesh.kill9("echo-1")
        #expect(await eventually(timeout: .seconds(5)) { await (try? watcher.instances(of: "echo"))?.count == 1 })
        for _ in 0..<10 { #expect(try await client.call("echo.whoami", []).text == "echo-2") }
        try mesh.restart("echo-1")
        #expect(await eventually(timeout: .seconds(15)) {
            var seen = Set<String>()
            for _ in 0..<20 { seen.insert((try? await client.call("echo.whoami", []).text) ?? "") }
            return seen.contains("echo-1")
        }, "the restarted echo-1 got no calls")
        await client.shutdown()
        await watcher.shutdown()
        await mesh.down()
    }

    @Test(arguments: ["Tests/Fixtures/overload-brokerless.yaml", "Tests/Fixtures/overload-brokered.yaml"])
    func floodingABusyServiceGetsPromptOverloadedErrorsAndBoundedMemory(file: String) async throws {
        let mesh = try await MeshUnderTest(file)
        defer { Task { await mesh.down() } }
        let client = try mesh.client()
        // The node that holds the queue: the broker, or the service itself.
        let holder = mesh.topology.brokers.first?.name ?? "sleep-1"
        let rssBefore = try residentKiB(of: mesh.pid(of: holder))
        let payload = "300" + String(repeating: " ", count: 1_021)   // 1 KiB, sleeps 300 ms
        let outcomes = Locked<(ok: Int, overloaded: [Duration], other: [String])>((0, [], []))
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<2_000 {
                group.addTask {
                    let sent = ContinuousClock.now
                    do {
                        _ = try await client.call("sleep", payload.bytes, options: CallOptions(timeout: .seconds(20)))
                        outcomes.update { $0.ok += 1 }
                    } catch let error as MeshError where error.code == .overloaded {
                        let took = ContinuousClock.now - sent
                        outcomes.update { $0.overloaded.append(took) }
                    } catch {
                        outcomes.update { $0.other.append("\(error)") }
                    }
                }
            }
        }
        let result = outcomes.value
        let rssAfter = try residentKiB(of: mesh.pid(of: holder))
        #expect(result.other.isEmpty, "\(result.other.prefix(3))")
        // Two slots and a queue of twenty: a little more than 22 can be served, the rest refused.
        #expect(result.ok >= 22)
        #expect(result.overloaded.count >= 1_900)
        // Promptly: refused at once, not after waiting for a slot (300 ms each) or a deadline.
        let slowest = result.overloaded.max() ?? .zero
        #expect(slowest < .seconds(3), "slowest overloaded answer took \(slowest)")
        #expect(Load.percentile(result.overloaded.map { Int($0.nanosecondsClamped / 1_000) }, 0.5) < 500_000)
        // And the node holding the queue did not grow with the flood.
        #expect(rssAfter - rssBefore < 32 * 1024, "\(holder) RSS grew from \(rssBefore) KiB to \(rssAfter) KiB")
        print("OVERLOAD \(mesh.topology.kind.rawValue): \(result.ok) served, \(result.overloaded.count) overloaded "
              + "(median \(Load.percentile(result.overloaded.map { Int($0.nanosecondsClamped / 1_000) }, 0.5)) us), "
              + "\(holder) RSS \(rssBefore) -> \(rssAfter) KiB")
        await client.shutdown()
        await mesh.down()
    }

    @Test(arguments: topologies)
    func garbageSentToEveryNodeHarmsNoneOfThem(file: String) async throws {
        let mesh = try await MeshUnderTest(file)
        defer { Task { await mesh.down() } }
        let topology = mesh.topology
        let endpoints = topology.registries.map { ($0.name, $0.bind) } + topology.brokers.map { ($0.name, $0.bind) }
            + topology.services.map { ($0.name, $0.bind) }
        let good = Header(command: .request, requestID: RequestID(client: 7, sequence: 1), name: "echo").encoded()
        var badVersion = good; badVersion[2] = 99
        let garbage: [[[UInt8]]] = [
            [[1, 2, 3]], [[]], [[], Array("not a header".utf8)], [[], badVersion, [1]],
            [[], Array(good.prefix(10))], [[], good + [9]], [[], Array(repeating: 0xFF, count: 2_048)],
            [[], Header(command: .reply, requestID: RequestID(client: 1, sequence: 1)).encoded(), [1]],
            [[], Header(command: .heartbeat, requestID: RequestID(client: 1, sequence: 1)).encoded(), Array("{".utf8)],
        ]
        for (_, endpoint) in endpoints {
            let peer = try await RawPeer.connect(to: Endpoint.connectable(endpoint))
            for _ in 0..<20 { for frames in garbage { try await peer.send(frames) } }
            await peer.close()
        }
        // Every node still runs, and the mesh still answers.
        for (name, _) in endpoints {
            #expect(Glibc.kill(try mesh.pid(of: name), 0) == 0, "\(name) died: \(mesh.log(of: name))")
        }
        let client = try mesh.client()
        for index in 0..<100 { #expect(try await client.call("echo", "ok-\(index)".bytes).text == "ok-\(index)") }
        #expect(try await mesh.zmesh(["status"]).status == 0)
        for (name, _) in endpoints {
            #expect(await eventually { mesh.log(of: name).contains("dropped malformed message") }, "\(name) did not count garbage")
        }
        await client.shutdown()
        await mesh.down()
    }
}

@Suite("Brokered mesh from a topology file", .serialized, .oneMeshAtATime)
struct BrokeredMeshTests {
    @Test func killingOneOfTwoBrokersUnderLoadLosesNoCall() async throws {
        let mesh = try await MeshUnderTest("topologies/ha.yaml")
        defer { Task { await mesh.down() } }
        let client = try mesh.client()
        let killedAt = Locked<ContinuousClock.Instant?>(nil)
        let load = try await Load.run(client: client, calls: 5_000, concurrency: 32, keyPrefix: "broker") { done in
            guard done == 1_000 else { return }
            Task {
                killedAt.value = ContinuousClock.now
                try await mesh.kill9("broker-1")
            }
        }
        #expect(killedAt.value != nil)
        #expect(load.failures.isEmpty, "failed calls: \(load.failures.prefix(5))")
        #expect(load.succeeded == 5_000)
        #expect(load.wrongReplies == 0)
        let stats = await client.stats()
        if let killTime = killedAt.value {
            let window = load.latencies(startedIn: killTime..<(killTime + .seconds(2)))
            print("FAILOVER broker: kill -9 broker-1 during 5,000 calls: lost 0, re-sent \(stats.retries); "
                  + "p99 overall \(load.p99) us, p99 in the 2 s after the kill \(Load.percentile(window, 0.99)) us")
        }
        // And the survivor carries everything now.
        for index in 0..<50 { #expect(try await client.call("echo", [UInt8(index)]) == [UInt8(index)]) }
        await client.shutdown()
        await mesh.down()
    }
}

/// A process's resident set size in KiB, from /proc.
func residentKiB(of pid: Int32) throws -> Int {
    let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }
    return 0
}
