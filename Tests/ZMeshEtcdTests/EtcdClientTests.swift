import Testing
import ZMeshEtcd

/// The etcd client against a real etcd: leases, keys, range reads and watches.
@Suite("etcd client", .enabled(if: EtcdServer.isInstalled, "needs etcd (scripts/test.sh installs etcd-server)"))
struct EtcdClientTests {
    @Test func putWithALeaseRangeAndKeepAliveThenRevokeDeletes() async throws {
        let server = try await EtcdServer()
        defer { server.stop() }
        let etcd = EtcdClient(endpoints: [server.endpoint])
        let lease = try await etcd.grantLease(ttlSeconds: 5)
        try await etcd.put("/zmesh/echo/a", Array("one".utf8), lease: lease)
        try await etcd.put("/zmesh/kv/b", Array("two".utf8), lease: lease)
        try await etcd.put("/zmeshx", Array("outside".utf8))
        let read = try await etcd.range(prefix: "/zmesh/")
        #expect(read.values.map(\.key) == ["/zmesh/echo/a", "/zmesh/kv/b"])
        #expect(read.values.map { String(decoding: $0.value, as: UTF8.self) } == ["one", "two"])
        #expect(read.revision >= 3)
        #expect(try await etcd.keepAlive(lease: lease) == 5)
        try await etcd.revoke(lease: lease)
        #expect(try await etcd.range(prefix: "/zmesh/").values.isEmpty)
        await #expect(throws: EtcdError.self) { try await etcd.keepAlive(lease: lease) }
    }

    @Test func aWatchFromTheReadRevisionMissesNothing() async throws {
        let server = try await EtcdServer()
        defer { server.stop() }
        let etcd = EtcdClient(endpoints: [server.endpoint])
        try await etcd.put("/zmesh/echo/a", Array("1".utf8))
        let read = try await etcd.range(prefix: "/zmesh/")
        // A change between the read and the watch: the watch from read + 1 still sees it.
        try await etcd.put("/zmesh/echo/b", Array("2".utf8))
        let stream = etcd.watch(prefix: "/zmesh/", fromRevision: read.revision + 1)
        var events: [EtcdWatchEvent] = []
        var iterator = stream.makeAsyncIterator()
        let deleting = Task {
            try await etcd.delete("/zmesh/echo/a")
        }
        while events.count < 2, let batch = try await iterator.next() { events += batch }
        try await deleting.value
        guard case .put(let put) = events[0] else { Issue.record("expected a put first, got \(events)"); return }
        #expect(put.key == "/zmesh/echo/b")
        guard case .delete(let key, _) = events[1] else { Issue.record("expected a delete, got \(events)"); return }
        #expect(key == "/zmesh/echo/a")
    }

    @Test func anEndpointNobodyAnswersAtIsNamedInTheError() async throws {
        let nobody = try ClosedPort()
        let port = nobody.port
        defer { withExtendedLifetime(nobody) {} }
        let etcd = EtcdClient(endpoints: [nobody.endpoint], requestTimeout: .seconds(1))
        do {
            _ = try await etcd.range(prefix: "/zmesh/")
            Issue.record("a range read from nowhere succeeded")
        } catch {
            #expect(error.kind == .unreachable)
            #expect(error.description.contains("cannot reach etcd at http://127.0.0.1:\(port)"))
        }
    }

    @Test func aSecondEndpointIsTriedWhenTheFirstIsDown() async throws {
        let server = try await EtcdServer()
        defer { server.stop() }
        let nobody = try ClosedPort()
        defer { withExtendedLifetime(nobody) {} }
        let down = nobody.endpoint
        let etcd = EtcdClient(endpoints: [down, server.endpoint])
        try await etcd.put("/zmesh/x", [1])
        #expect(try await etcd.range(prefix: "/zmesh/").values.count == 1)
    }
}
