import Foundation
import Testing
import MeshClock
@testable import ZMesh
import ZMeshBuiltins
import ZMeshTestSupport
import ZeroMQ

@Suite("Registry table")
struct RegistryTableTests {
    private func announcement(_ instance: String, endpoint: String = "tcp://127.0.0.1:6001", services: [String] = ["echo"]) -> Announcement {
        Announcement(instance: instance, node: String(instance.prefix(while: { $0 != "#" })), endpoint: endpoint,
                     services: services, load: 0, capacity: 8, intervalMilliseconds: 100)
    }

    @Test func heartbeatsAddInstancesAndSilenceEvictsThem() {
        var table = RegistryTable()
        let t0 = MonotonicTime(nanoseconds: 1_000_000_000)
        #expect(table.heartbeat(announcement("echo-1#a"), now: t0)?.services == ["echo"])
        #expect(table.heartbeat(announcement("echo-2#b", endpoint: "tcp://127.0.0.1:6002"), now: t0)?.services == ["echo"])
        // A repeat heartbeat changes nothing anyone needs to hear about.
        #expect(table.heartbeat(announcement("echo-1#a"), now: t0.advanced(by: .milliseconds(200)))?.isEmpty == true)
        #expect(table.liveInstances(of: "echo", now: t0).count == 2)
        #expect(table.nextExpiry(expiry: .milliseconds(300)) == t0.advanced(by: .milliseconds(300)))
        // echo-2 went silent at t0; echo-1 last spoke at t0+200.
        let (change, evicted) = table.evictExpired(now: t0.advanced(by: .milliseconds(300)), expiry: .milliseconds(300))
        #expect(evicted.map(\.instance) == ["echo-2#b"])
        #expect(change.services == ["echo"])
        #expect(table.liveInstances(of: "echo", now: t0).map(\.instance) == ["echo-1#a"])
        let status = table.allInstances(now: t0.advanced(by: .milliseconds(400)))
        #expect(status.map(\.health) == [.live, .evicted])
    }

    @Test func aNewInstanceAtTheSameEndpointReplacesTheOld() {
        var table = RegistryTable()
        let now = MonotonicTime(nanoseconds: 1)
        _ = table.heartbeat(announcement("echo-1#old"), now: now)
        _ = table.heartbeat(announcement("echo-1#new"), now: now)
        #expect(table.liveInstances(of: nil, now: now).map(\.instance) == ["echo-1#new"])
        #expect(table.allInstances(now: now).last?.health == .replaced)
    }

    @Test func leavingRemovesAtOnce() {
        var table = RegistryTable()
        let now = MonotonicTime(nanoseconds: 1)
        _ = table.heartbeat(announcement("kv-1#a", services: ["kv"]), now: now)
        #expect(table.leave("kv-1#a", now: now).services == ["kv"])
        #expect(table.liveInstances(of: "kv", now: now).isEmpty)
        #expect(table.leave("kv-1#a", now: now).isEmpty)
    }

    @Test func aFullTableRefusesNewInstances() {
        var table = RegistryTable(maxInstances: 1)
        let now = MonotonicTime(nanoseconds: 1)
        #expect(table.heartbeat(announcement("a#1", endpoint: "tcp://127.0.0.1:1001"), now: now) != nil)
        #expect(table.heartbeat(announcement("b#1", endpoint: "tcp://127.0.0.1:1002"), now: now) == nil)
        #expect(table.heartbeat(announcement("a#1", endpoint: "tcp://127.0.0.1:1001"), now: now) != nil)
    }

    @Test func announcementsAreChecked() {
        let good = announcement("echo-1#a")
        #expect(Announcement.decode([good.encoded()]) == good)
        #expect(Announcement.decode([Array("{}".utf8)]) == nil)
        #expect(Announcement.decode([Array("not json".utf8)]) == nil)
        var bad = good; bad.endpoint = "tcp://127.0.0.1:99999"
        #expect(Announcement.decode([bad.encoded()]) == nil)
        bad = good; bad.services = ["kv.get"]
        #expect(Announcement.decode([bad.encoded()]) == nil)
        bad = good; bad.services = []
        #expect(Announcement.decode([bad.encoded()]) == nil)
        #expect(Announcement.decode([Array(repeating: 0x20, count: 20_000)]) == nil)
    }
}

/// A registry, service nodes heartbeating to it, and clients calling by name, in one process.
@Suite("Registry, heartbeats and call by name")
struct RegistryDiscoveryTests {
    /// Short enough to keep tests quick, long enough that a loaded CI machine does not miss
    /// three heartbeats in a row (600 ms).
    static let fast = Topology.Heartbeat(interval: .milliseconds(200), liveness: 3)

    private func startRegistry(_ name: String = "registry-1") async throws -> (RegistryNode, RegistryAddress) {
        var configuration = RegistryNode.Configuration(name: name, bind: "tcp://127.0.0.1:*", publish: "tcp://127.0.0.1:*")
        configuration.heartbeat = Self.fast
        let registry = try RegistryNode(configuration: configuration, logger: testLogger)
        let endpoint = try await registry.start()
        return (registry, RegistryAddress(endpoint: endpoint, publish: await registry.publishEndpoint))
    }

    private func startService(_ name: String, registries: [RegistryAddress], services: [String] = ["echo"],
                              configure: (inout ServiceNode.Configuration) -> Void = { _ in }) async throws -> ServiceNode {
        let (node, _) = try await startTestNode(name: name, configure: {
            $0.registries = registries.map(\.endpoint)
            $0.heartbeat = Self.fast
            configure(&$0)
        }, handlers: try BuiltinServices.handlers(for: services, nodeName: name))
        return node
    }

    private func registryClient(_ registries: [RegistryAddress]) throws -> MeshClient {
        var configuration = MeshClient.Configuration(discovery: .registries(registries))
        configuration.refreshInterval = .milliseconds(200)
        return try MeshClient(configuration: configuration, logger: testLogger)
    }

    @Test func callsByNameReachEveryLiveInstance() async throws {
        let (registry, address) = try await startRegistry()
        let one = try await startService("echo-1", registries: [address])
        let two = try await startService("echo-2", registries: [address])
        let kv = try await startService("kv-1", registries: [address], services: ["kv"])
        #expect(await eventually { await registry.instances().count == 3 })
        let client = try registryClient([address])
        var seen = Set<String>()
        for index in 0..<40 {
            #expect(try await client.call("echo", "m\(index)".bytes).text == "m\(index)")
            seen.insert(try await client.call("echo.whoami", []).text)
        }
        #expect(seen == ["echo-1", "echo-2"])
        _ = try await client.call("kv.put", "k=v".bytes)
        #expect(try await client.call("kv.get", "k".bytes).text == "v")
        await client.shutdown()
        for node in [one, two, kv] { await node.stop() }
        await registry.stop()
    }

    @Test func anUnknownNameFailsFastWithUnavailable() async throws {
        let (registry, address) = try await startRegistry()
        let client = try registryClient([address])
        do {
            _ = try await client.call("weather", [], options: CallOptions(timeout: .seconds(30)))
            Issue.record("expected unavailable")
        } catch {
            #expect(error.code == .unavailable)
            #expect(error.message.contains("weather"))
        }
        await client.shutdown()
        await registry.stop()
    }

    @Test func noReachableRegistryFailsFastWithUnavailable() async throws {
        let (registry, address) = try await startRegistry()
        await registry.stop()
        let client = try registryClient([address])
        do {
            _ = try await client.call("echo", [], options: CallOptions(timeout: .seconds(30)))
            Issue.record("expected unavailable")
        } catch {
            #expect(error.code == .unavailable)
            #expect(error.message.contains("registry"))
        }
        await client.shutdown()
    }

    @Test func aStoppedNodeLeavesAtOnceAndCallsGoToTheOther() async throws {
        let (registry, address) = try await startRegistry()
        let one = try await startService("echo-1", registries: [address])
        let two = try await startService("echo-2", registries: [address])
        let client = try registryClient([address])
        #expect(await eventually { await registry.instances(of: "echo").count == 2 })
        _ = try await client.call("echo", [1])
        await one.stop()
        // DISCONNECT: gone from the registry long before three heartbeat intervals.
        let gone = await eventually(timeout: .milliseconds(250)) { await registry.instances(of: "echo").count == 1 }
        #expect(gone)
        #expect(await registry.stats().departures == 1)
        for _ in 0..<20 { #expect(try await client.call("echo.whoami", []).text == "echo-2") }
        await client.shutdown()
        await two.stop()
        await registry.stop()
    }

    @Test func aSilentInstanceIsEvictedAfterLivenessIntervals() async throws {
        let (registry, address) = try await startRegistry()
        let node = try await startService("echo-1", registries: [address])
        #expect(await eventually { await registry.instances().count == 1 })
        // Stop heartbeats without a goodbye: close the node's loop from under it.
        await node.core.transport.loop.shutdown()
        let shutDownAt = ContinuousClock.now
        // How long the instance had been silent already (a loaded machine can delay its last
        // heartbeats): its silence at eviction is that plus the wait below.
        let silentAtShutdown = await registry.instances().first.map { Duration.milliseconds($0.lastHeartbeatMillisecondsAgo) }
        #expect(await eventually { await registry.instances().isEmpty })
        let took = ContinuousClock.now - shutDownAt
        #expect(await registry.stats().evictions == 1)
        // Evicted after about liveness x interval (600 ms) of silence, not much before. (Nil:
        // already evicted when asked, so silent that long by then.)
        if let silentAtShutdown {
            #expect(silentAtShutdown + took >= .milliseconds(300), "silent \(silentAtShutdown) at shutdown, evicted \(took) later")
        }
        await registry.stop()
    }

    @Test func busyHandlersDoNotStopHeartbeats() async throws {
        let (registry, address) = try await startRegistry()
        let node = try await startService("sleep-1", registries: [address], services: ["sleep"], configure: {
            $0.maxConcurrentHandlers = 2
        })
        #expect(await eventually { await registry.instances().count == 1 })
        let client = try registryClient([address])
        // Occupy every handler slot for 2.5 s: four times the 600 ms eviction limit.
        let busy = (0..<2).map { _ in Task { try await client.call("sleep", "2500".bytes) } }
        #expect(await eventually { await node.stats().running == 2 })
        let until = ContinuousClock.now.advanced(by: .milliseconds(2300))
        while ContinuousClock.now < until {
            #expect(await registry.instances(of: "sleep").count == 1)
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(await registry.stats().evictions == 0)
        for task in busy { _ = try await task.value }
        await client.shutdown()
        await node.stop()
        await registry.stop()
    }

    @Test func twoRegistriesGiveTheSameAnswersAndEitherServes() async throws {
        let (registryA, addressA) = try await startRegistry("registry-1")
        let (registryB, addressB) = try await startRegistry("registry-2")
        let one = try await startService("echo-1", registries: [addressA, addressB])
        let two = try await startService("echo-2", registries: [addressA, addressB])
        #expect(await eventually {
            let a = await registryA.instances().count
            let b = await registryB.instances().count
            return a == 2 && b == 2
        })
        #expect(await registryA.instances().map(\.instance) == registryB.instances().map(\.instance))
        let client = try registryClient([addressA, addressB])
        _ = try await client.call("echo", [1])
        await registryA.stop()
        for index in 0..<50 {
            #expect(try await client.call("echo", [UInt8(index)]) == [UInt8(index)])
        }
        await client.shutdown()
        await one.stop()
        await two.stop()
        await registryB.stop()
    }

    @Test func changeEventsReachSubscribedClients() async throws {
        let (registry, address) = try await startRegistry()
        let one = try await startService("echo-1", registries: [address])
        #expect(await eventually { await registry.instances().count == 1 })
        var configuration = MeshClient.Configuration(discovery: .registries([address]))
        configuration.refreshInterval = .seconds(60)   // only change events can tell it
        let client = try MeshClient(configuration: configuration, logger: testLogger)
        _ = try await client.call("echo", [1])
        #expect(await client.core.knownEndpoints(of: "echo")?.count == 1)
        let two = try await startService("echo-2", registries: [address])
        #expect(await eventually { await client.core.knownEndpoints(of: "echo")?.count == 2 })
        await client.shutdown()
        await one.stop()
        await two.stop()
        await registry.stop()
    }

    @Test func garbageAtTheRegistryIsCountedAndItKeepsAnswering() async throws {
        let (registry, address) = try await startRegistry()
        let one = try await startService("echo-1", registries: [address])
        // One connection per message: the registry takes one heartbeat per connection per
        // quarter interval and drops the rest as a flood before looking at them.
        var peers: [RawPeer] = []
        let heartbeat = Header(command: .heartbeat, requestID: RequestID(client: 0, sequence: 0)).encoded()
        for frames: [[UInt8]] in [[[], heartbeat, Array("{\"instance\":1}".utf8)], [[], heartbeat], [[], Array("junk".utf8)],
                                  [Array("no delimiter".utf8)]] {
            let peer = try await RawPeer.connect(to: address.endpoint)
            try await peer.send(frames)
            peers.append(peer)
        }
        #expect(await eventually { await registry.stats().malformedTotal == 4 })
        #expect(await eventually { await registry.instances().count == 1 })
        let client = try registryClient([address])
        #expect(try await client.call("echo", [5]) == [5])
        #expect(await registry.instances().count == 1)
        for peer in peers { await peer.close() }
        await client.shutdown()
        await one.stop()
        await registry.stop()
    }
}

/// A registry that restarts knows nothing until heartbeats reach it again: its answers must
/// not make clients and brokers forget instances that are alive.
@Suite("A restarted registry")
struct RegistryRestartTests {
    static let fast = Topology.Heartbeat(interval: .milliseconds(200), liveness: 3)

    private func registry(at endpoint: String, heartbeat: Topology.Heartbeat = fast) async throws -> RegistryNode {
        var configuration = RegistryNode.Configuration(name: "registry-1", bind: endpoint)
        configuration.heartbeat = heartbeat
        let node = try RegistryNode(configuration: configuration, logger: testLogger)
        try await node.start()
        return node
    }

    /// Stops the registry for 1.5 s (long enough for the nodes' reconnect back-off to grow, as
    /// after a crash), restarts it, all under `calls`, which keep calling until 2.5 s after the
    /// restart; returns their failures.
    private func restartUnderLoad(_ endpoint: String, registry: RegistryNode, heartbeat: Topology.Heartbeat = fast,
                                  calls: @escaping @Sendable () async throws -> Void) async throws -> [String] {
        let failures = Locked<[String]>([])
        let stop = Locked(false)
        let load = Task {
            while !stop.value {
                do { try await calls() } catch { failures.update { $0.append("\(error)") } }
            }
        }
        await registry.stop()
        let down = ContinuousClock.now + .milliseconds(1_500)
        while ContinuousClock.now < down { try await Task.sleep(for: .milliseconds(50)) }
        let restarted = try await self.registry(at: endpoint, heartbeat: heartbeat)
        let until = ContinuousClock.now + .milliseconds(2_500)
        while ContinuousClock.now < until { try await Task.sleep(for: .milliseconds(50)) }
        stop.value = true
        await load.value
        await restarted.stop()
        return failures.value
    }

    @Test func clientsKeepCallingThroughIt() async throws {
        let endpoint = "tcp://127.0.0.1:\(try freePorts(1)[0])"
        let first = try await registry(at: endpoint)
        let (service, _) = try await startTestNode(name: "echo-1", configure: {
            $0.registries = [endpoint]
            $0.heartbeat = Self.fast
        }, handlers: BuiltinServices.echo(nodeName: "echo-1"))
        #expect(await eventually { await first.instances().count == 1 })
        var configuration = MeshClient.Configuration(discovery: .registries([RegistryAddress(endpoint: endpoint)]))
        configuration.refreshInterval = .milliseconds(100)   // asks the new registry at once, often
        let client = try MeshClient(configuration: configuration, logger: testLogger)
        _ = try await client.call("echo", [1])
        let failures = try await restartUnderLoad(endpoint, registry: first) {
            _ = try await client.call("echo", [2], options: CallOptions(timeout: .seconds(5)))
        }
        #expect(failures.count == 0, "\(failures.count) calls failed: \(failures.prefix(3))")
        await client.shutdown()
        await service.stop()
    }

    @Test func brokersKeepRoutingThroughIt() async throws {
        // The service heartbeats slowly and the broker asks often, so after the restart the
        // broker surely hears the new registry before the service has told it anything.
        let slow = Topology.Heartbeat(interval: .milliseconds(800), liveness: 3)
        let endpoint = "tcp://127.0.0.1:\(try freePorts(1)[0])"
        let first = try await registry(at: endpoint, heartbeat: slow)
        let (service, _) = try await startTestNode(name: "echo-1", configure: {
            $0.registries = [endpoint]
            $0.heartbeat = slow
        }, handlers: BuiltinServices.echo(nodeName: "echo-1"))
        var brokerConfiguration = BrokerNode.Configuration(name: "broker-1", bind: "tcp://127.0.0.1:*")
        brokerConfiguration.registries = [RegistryAddress(endpoint: endpoint)]
        brokerConfiguration.heartbeat = Self.fast
        let broker = try BrokerNode(configuration: brokerConfiguration, logger: testLogger)
        let front = try await broker.start()
        #expect(await eventually { await broker.stats().readyByService["echo"] == 1 })
        let client = try MeshClient(configuration: .init(discovery: .brokers([front])), logger: testLogger)
        let failures = try await restartUnderLoad(endpoint, registry: first, heartbeat: slow) {
            _ = try await client.call("echo", [3], options: CallOptions(timeout: .seconds(5)))
        }
        #expect(failures.count == 0, "\(failures.count) calls failed: \(failures.prefix(3))")
        await client.shutdown()
        await broker.stop()
        await service.stop()
    }
}
