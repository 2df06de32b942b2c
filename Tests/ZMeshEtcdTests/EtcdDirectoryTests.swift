import Logging
import Testing
import ZMesh
import ZMeshEtcd
import ZMeshTestSupport

/// ZMesh discovery on a real etcd: service nodes announce to it, clients and brokers follow
/// it, over real libzmq sockets.
@Suite("etcd as the instance directory", .enabled(if: EtcdServer.isInstalled, "needs etcd (scripts/test.sh installs etcd-server)"))
struct EtcdDirectoryTests {
    static let logger = Logger(label: "etcd-test") { _ in SwiftLogNoOpLogHandler() }
    static let fast = Topology.Heartbeat(interval: .milliseconds(200), liveness: 3)

    static func echoNode(_ name: String, directory: EtcdDirectory) async throws -> ServiceNode {
        var handlers = ServiceHandlers()
        handlers.registerInline("echo") { payload, _ in Array("\(name):".utf8) + payload }
        var configuration = ServiceNode.Configuration(name: name, bind: "tcp://127.0.0.1:*")
        configuration.directory = directory
        configuration.heartbeat = fast
        let node = try ServiceNode(configuration: configuration, handlers: handlers, logger: logger)
        try await node.start()
        return node
    }

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func aClientFindsInstancesInEtcdAndADrainRemovesOneAtOnce() async throws {
        let server = try await EtcdServer()
        defer { server.stop() }
        let directory = EtcdDirectory(endpoints: [server.endpoint], prefix: "/test/")
        let first = try await Self.echoNode("echo-1", directory: directory)
        let second = try await Self.echoNode("echo-2", directory: directory)
        #expect(await eventually { (try? await directory.client.range(prefix: "/test/instances/").values.count) == 2 })
        let client = try MeshClient(configuration: .init(discovery: .directory(directory)), logger: Self.logger)
        var servedBy = Set<String>()
        for index in 0..<40 {
            let reply = Self.text(try await client.call("echo", Array("\(index)".utf8)))
            servedBy.insert(String(reply.prefix { $0 != ":" }))
        }
        #expect(servedBy == ["echo-1", "echo-2"])
        // A drain withdraws at once: the key is gone long before its lease would expire.
        await first.stop(gracePeriod: .milliseconds(100))
        #expect(try await directory.client.range(prefix: "/test/instances/").values.count == 1)
        for index in 0..<20 {
            #expect(Self.text(try await client.call("echo", Array("\(index)".utf8))).hasPrefix("echo-2:"))
        }
        await client.shutdown()
        await second.stop(gracePeriod: .milliseconds(100))
    }

    @Test func callsGoOnWithTheLastKnownInstancesWhenEtcdDies() async throws {
        let server = try await EtcdServer()
        defer { server.stop() }
        let directory = EtcdDirectory(endpoints: [server.endpoint], prefix: "/test/")
        let node = try await Self.echoNode("echo-1", directory: directory)
        #expect(await eventually { (try? await directory.client.range(prefix: "/test/instances/").values.count) == 1 })
        let client = try MeshClient(configuration: .init(discovery: .directory(EtcdDirectory(endpoints: [server.endpoint], prefix: "/test/"))),
                                    logger: Self.logger)
        #expect(Self.text(try await client.call("echo", Array("before".utf8))) == "echo-1:before")
        server.kill9()
        for index in 0..<50 {
            #expect(Self.text(try await client.call("echo", Array("\(index)".utf8))) == "echo-1:\(index)")
        }
        await client.shutdown()
        await node.stop(gracePeriod: .milliseconds(100))
    }

    @Test func aBrokerRoutesToInstancesItFindsInEtcd() async throws {
        let server = try await EtcdServer()
        defer { server.stop() }
        let directory = EtcdDirectory(endpoints: [server.endpoint], prefix: "/test/")
        let node = try await Self.echoNode("echo-1", directory: directory)
        var configuration = BrokerNode.Configuration(name: "broker-1", bind: "tcp://127.0.0.1:*")
        configuration.directory = directory
        configuration.heartbeat = Self.fast
        let broker = try BrokerNode(configuration: configuration, logger: Self.logger)
        let front = try await broker.start()
        #expect(await eventually { await broker.stats().readyInstances == 1 })
        let client = try MeshClient(configuration: .init(discovery: .brokers([front])), logger: Self.logger)
        #expect(Self.text(try await client.call("echo", Array("via broker".utf8))) == "echo-1:via broker")
        await client.shutdown()
        await broker.stop(gracePeriod: .milliseconds(100))
        await node.stop(gracePeriod: .milliseconds(100))
    }

    @Test func anUnreachableEtcdIsNamedInTheCallsError() async throws {
        let nobody = try ClosedPort()
        defer { withExtendedLifetime(nobody) {} }
        let endpoint = nobody.endpoint
        var configuration = MeshClient.Configuration(discovery: .directory(EtcdDirectory(endpoints: [endpoint], requestTimeout: .milliseconds(300))))
        configuration.lookupTimeout = .milliseconds(800)
        let client = try MeshClient(configuration: configuration, logger: Self.logger)
        do {
            _ = try await client.call("echo", [], options: CallOptions(timeout: .seconds(3)))
            Issue.record("a call with no directory to ask succeeded")
        } catch {
            #expect(error.code == .unavailable)
            #expect(error.message.contains("etcd \(endpoint)"), "\(error)")
        }
        await client.shutdown()
    }
}
