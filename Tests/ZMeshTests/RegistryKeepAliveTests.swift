import Foundation
import Testing
import MeshClock
@testable import ZMesh
import ZMeshBuiltins
import ZMeshTestSupport

@Suite("Registry keep-alives")
struct RegistryKeepAliveTests {
    static let fast = Topology.Heartbeat(interval: .milliseconds(200), liveness: 3)
    /// For tests that beat once or twice by hand: an expiry (10 s) no loaded run outlasts.
    static let patient = Topology.Heartbeat(interval: .seconds(1), liveness: 10)
    static let heartbeat = Header(command: .heartbeat, requestID: RequestID(client: 0, sequence: 0)).encoded()

    private func announcement(_ instance: String, load: Int = 0, keepAlives: Bool? = true) -> Announcement {
        var announcement = Announcement(instance: instance, node: "echo-1", endpoint: "tcp://127.0.0.1:6001",
                                        services: ["echo"], load: load, capacity: 8, intervalMilliseconds: 200)
        announcement.keepAlives = keepAlives
        return announcement
    }

    private func startRegistry(heartbeat: Topology.Heartbeat = Self.patient) async throws -> (RegistryNode, String) {
        var configuration = RegistryNode.Configuration(name: "registry-1", bind: "tcp://127.0.0.1:*")
        configuration.heartbeat = heartbeat
        let registry = try RegistryNode(configuration: configuration, logger: testLogger)
        return (registry, try await registry.start())
    }

    /// The status of the registry's `[] [HEARTBEAT, status]` answer, nil if none came in time.
    private func answerStatus(_ peer: RawPeer, timeout: Duration = .seconds(5)) async throws -> UInt16? {
        guard let frames = try await peer.nextFrames(timeout: timeout), frames.count == 2,
              case .success(let header) = Header.decode(frames[1]), header.command == .heartbeat else { return nil }
        return header.status
    }

    @Test func aKeepAliveCarriesTheLoadInFourBytes() {
        for load in [0, 7, 65_536, Int(UInt32.max)] {
            #expect(Announcement.keepAliveLoad([Announcement.keepAlive(load: load)]) == load)
        }
        #expect(Announcement.keepAliveLoad([Announcement.keepAlive(load: Int.max)]) == Int(UInt32.max))
        #expect(Announcement.keepAliveLoad([[1, 2, 3]]) == nil)
        #expect(Announcement.keepAliveLoad([[1, 2, 3, 4], [5]]) == nil)
        #expect(Announcement.keepAliveLoad([]) == nil)
        // An announcement without `keep_alive` (an older node's) still decodes, as one that wants none.
        let old = Array(#"{"instance":"a","node":"a","endpoint":"tcp://127.0.0.1:1","services":["echo"],"load":0,"capacity":1,"interval_ms":500}"#.utf8)
        #expect(Announcement.decode([old])?.keepAlives == nil)
        #expect(Announcement.decode([announcement("a").encoded()])?.keepAlives == true)
    }

    @Test func theTableRefreshesAKnownInstanceAndRefusesAnUnknownOne() {
        var table = RegistryTable()
        let t0 = MonotonicTime(nanoseconds: 1_000_000_000)
        let unknown = table.keepAlive("echo-1#a", load: 3, now: t0)
        #expect(unknown == .unknown)
        #expect(table.live.isEmpty)
        _ = table.heartbeat(announcement("echo-1#a"), now: t0)
        let later = t0.advanced(by: .milliseconds(500))
        // Sooner than the minimum gap after the last beat: a flood, dropped, nothing changes.
        let flood = table.keepAlive("echo-1#a", load: 7, now: t0.advanced(by: .milliseconds(100)), minimumGap: .milliseconds(125))
        #expect(flood == .tooSoon)
        #expect(table.live["echo-1#a"]?.heartbeats == 1)
        let known = table.keepAlive("echo-1#a", load: 3, now: later, minimumGap: .milliseconds(125))
        #expect(known == .taken)
        #expect(table.live["echo-1#a"]?.announcement == announcement("echo-1#a", load: 3))
        #expect(table.live["echo-1#a"]?.heartbeats == 2)
        // The keep-alive counts as a heartbeat for expiry.
        let early = table.evictExpired(now: t0.advanced(by: .milliseconds(600)), expiry: .milliseconds(300))
        #expect(early.evicted.isEmpty)
        let late = table.evictExpired(now: later.advanced(by: .milliseconds(300)), expiry: .milliseconds(300))
        #expect(late.evicted.count == 1)
    }

    @Test func aKeepAliveFromAConnectionWithNoAnnouncementAsksForIt() async throws {
        let (registry, endpoint) = try await startRegistry()
        let peer = try await RawPeer.connect(to: endpoint, routingID: "echo-1#a")
        try await peer.send([[], Self.heartbeat, Announcement.keepAlive(load: 1)])
        #expect(try await answerStatus(peer) == StatusCode.notFound.rawValue)
        let stats = await registry.stats()
        #expect(stats.announcementsAsked == 1)
        #expect(stats.heartbeats == 0)
        #expect(await registry.instances().isEmpty)
        await peer.close()
        await registry.stop()
    }

    @Test func anAcknowledgedAnnouncementIsKeptAliveByLoadsAlone() async throws {
        let (registry, endpoint) = try await startRegistry()
        let peer = try await RawPeer.connect(to: endpoint, routingID: "echo-1#a")
        try await peer.send([[], Self.heartbeat, announcement("echo-1#a").encoded()])
        #expect(try await answerStatus(peer) == 0)
        // Beats closer than a quarter interval are dropped as a flood: keep beating until one counts.
        #expect(await eventually {
            try? await peer.send([[], Self.heartbeat, Announcement.keepAlive(load: 7)])
            return await registry.stats().keepAlives >= 1
        })
        #expect(await registry.instances().map(\.load) == [7])
        #expect(await registry.instances().map(\.services) == [["echo"]])
        // A keep-alive from another connection cannot keep this instance alive: it names its own.
        let other = try await RawPeer.connect(to: endpoint, routingID: "echo-1#b")
        try await other.send([[], Self.heartbeat, Announcement.keepAlive(load: 99)])
        #expect(try await answerStatus(other) == StatusCode.notFound.rawValue)
        #expect(await registry.instances().map(\.instance) == ["echo-1#a"])
        await other.close()
        await peer.close()
        await registry.stop()
    }

    @Test func aFloodOfKeepAlivesIsDroppedAndCounted() async throws {
        // Interval 1 s: one beat per 250 ms per instance is taken, the rest of a flood dropped.
        let (registry, endpoint) = try await startRegistry()
        let peer = try await RawPeer.connect(to: endpoint, routingID: "echo-1#a")
        try await peer.send([[], Self.heartbeat, announcement("echo-1#a").encoded()])
        #expect(try await answerStatus(peer) == 0)
        let started = ContinuousClock.now
        for load in 0..<1_000 { try await peer.send([[], Self.heartbeat, Announcement.keepAlive(load: load)]) }
        #expect(await eventually { await registry.stats().floodDropped + registry.stats().keepAlives >= 1_000 })
        let stats = await registry.stats()
        // However slow the machine: one keep-alive per quarter interval the flood took, at most.
        let quarters = Int((ContinuousClock.now - started) / .milliseconds(250)) + 1
        #expect(stats.keepAlives <= UInt64(quarters))
        #expect(stats.floodDropped >= UInt64(1_000 - quarters))
        #expect(await registry.instances().map(\.instance) == ["echo-1#a"])
        await peer.close()
        await registry.stop()
    }

    @Test func anOlderNodesWholeAnnouncementsAreTakenAndNotAnswered() async throws {
        let (registry, endpoint) = try await startRegistry()
        let peer = try await RawPeer.connect(to: endpoint, routingID: "echo-1#a")
        try await peer.send([[], Self.heartbeat, announcement("echo-1#a", load: 2, keepAlives: nil).encoded()])
        #expect(await eventually { await registry.instances().map(\.load) == [2] })
        #expect(try await answerStatus(peer, timeout: .milliseconds(300)) == nil)
        #expect(await registry.stats().keepAlives == 0)
        await peer.close()
        await registry.stop()
    }

    @Test func aServiceNodeSendsKeepAlivesOnceItsRegistryAcknowledges() async throws {
        let (registry, endpoint) = try await startRegistry(heartbeat: Self.fast)
        let (node, _) = try await startTestNode(name: "echo-1", configure: {
            $0.registries = [endpoint]
            $0.heartbeat = Self.fast
        }, handlers: try BuiltinServices.handlers(for: ["echo"], nodeName: "echo-1"))
        #expect(await eventually { await registry.stats().keepAlives >= 3 })
        #expect(await registry.instances().map(\.node) == ["echo-1"])
        await node.stop()
        #expect(await eventually { await registry.instances().isEmpty })
        await registry.stop()
    }

    @Test func lookupAnswersAreKeptUntilTheirServiceChangesOrTheyAge() {
        var cache = LookupCache(maxAge: .milliseconds(100), maxEntries: 2)
        let t0 = MonotonicTime(nanoseconds: 1_000_000_000)
        cache.store([1], for: "echo", now: t0)
        cache.store([2], for: "", now: t0)
        #expect(cache.answer(for: "echo", now: t0.advanced(by: .milliseconds(99))) == [1])
        #expect(cache.answer(for: "echo", now: t0.advanced(by: .milliseconds(100))) == nil)
        cache.invalidate(RegistryTable.Change(services: ["kv"]))
        #expect(cache.answer(for: "echo", now: t0) == [1])
        #expect(cache.answer(for: "", now: t0) == nil)
        cache.invalidate(RegistryTable.Change(services: ["echo"]))
        #expect(cache.answer(for: "echo", now: t0) == nil)
        // Bounded: names are what peers ask for.
        cache.store([1], for: "a", now: t0)
        cache.store([2], for: "b", now: t0)
        cache.store([3], for: "c", now: t0)
        #expect(cache.answer(for: "c", now: t0) == [3])
        #expect(cache.answer(for: "a", now: t0) == nil)
    }
}
