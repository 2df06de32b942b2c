import Foundation
import Testing
@testable import ZMesh
import ZMeshBuiltins
import ZMeshTestSupport
import ZeroMQ

/// A secured mesh in one process: keys in a temporary directory, each node on its own loop
/// (its own libzmq context, so each has its own ZAP handler).
struct SecureFixture {
    let store: KeyStore
    let trusted: [String: String]
    let registryEndpoint: String
    let publishEndpoint: String
    let serviceEndpoints: [String]

    init() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("zmesh-keys-\(UUID().uuidString)").path
        store = KeyStore(directory: directory)
        for name in ["registry-1", "echo-1", "echo-2", "ops", "intruder"] {
            try store.write(try CurveKeyPair.generate(), for: name)
        }
        // Everyone but "intruder" is on the allow-list.
        var trusted: [String: String] = [:]
        for name in ["registry-1", "echo-1", "echo-2", "ops"] { trusted[try store.publicKey(of: name)] = name }
        self.trusted = trusted
        let ports = try freePorts(4)
        registryEndpoint = "tcp://127.0.0.1:\(ports[0])"
        publishEndpoint = "tcp://127.0.0.1:\(ports[1])"
        serviceEndpoints = ["tcp://127.0.0.1:\(ports[2])", "tcp://127.0.0.1:\(ports[3])"]
    }

    func settings(_ name: String) throws -> CurveSettings {
        var serverKeys: [String: String] = [:]
        serverKeys[registryEndpoint] = try store.publicKey(of: "registry-1")
        serverKeys[publishEndpoint] = try store.publicKey(of: "registry-1")
        serverKeys[serviceEndpoints[0]] = try store.publicKey(of: "echo-1")
        serverKeys[serviceEndpoints[1]] = try store.publicKey(of: "echo-2")
        return CurveSettings(identity: try store.keyPair(of: name), serverKeys: serverKeys, trusted: trusted)
    }

    func registry() async throws -> RegistryNode {
        var configuration = RegistryNode.Configuration(name: "registry-1", bind: registryEndpoint, publish: publishEndpoint)
        configuration.heartbeat = .init(interval: .milliseconds(250), liveness: 3)
        configuration.curve = try settings("registry-1")
        configuration.heartbeatPolicy = ["echo-1": ["echo"], "echo-2": ["echo"]]
        let node = try RegistryNode(configuration: configuration, logger: testLogger)
        try await node.start()
        return node
    }

    func service(_ index: Int) async throws -> ServiceNode {
        let name = "echo-\(index + 1)"
        var configuration = ServiceNode.Configuration(name: name, bind: serviceEndpoints[index])
        configuration.registries = [registryEndpoint]
        configuration.heartbeat = .init(interval: .milliseconds(250), liveness: 3)
        configuration.curve = try settings(name)
        let node = try ServiceNode(configuration: configuration, handlers: BuiltinServices.echo(nodeName: name), logger: testLogger)
        try await node.start()
        return node
    }

    func client(_ key: String?) throws -> MeshClient {
        var configuration = MeshClient.Configuration(discovery: .registries([RegistryAddress(endpoint: registryEndpoint, publish: publishEndpoint)]))
        configuration.curve = try key.map { try settings($0) }
        return try MeshClient(configuration: configuration, logger: testLogger)
    }

    /// A DEALER to the registry with `key`'s CURVE identity, named `routingID`, to send
    /// hand-made announcements (of the instance it is named after).
    func rawRegistryPeer(_ key: String, routingID: String) async throws -> RawPeer {
        let loop = try EventLoop(name: "raw-curve")
        let options = (try settings(key).clientOptions(for: registryEndpoint) ?? []) + [.routingID(Array(routingID.utf8))]
        let socket = try await ZMQSocketActor.make(on: loop, type: .dealer, options: options + [.linger(milliseconds: 1000)])
        try await socket.connect(registryEndpoint)
        return RawPeer(loop: loop, socket: socket)
    }
}

extension RawPeer {
    func announce(node: String, services: [String], endpoint: String, instance: String? = nil) async throws {
        let announcement = Announcement(instance: instance ?? "\(node)-fake", node: node, endpoint: endpoint, services: services,
                                        load: 0, capacity: 1, intervalMilliseconds: 250)
        let header = Header(command: .heartbeat, requestID: RequestID(client: 0, sequence: 0))
        try await send([[], header.encoded(), announcement.encoded()])
    }
}

@Suite("CURVE security", .serialized)
struct SecurityTests {
    @Test func allowedClientsCallNormally() async throws {
        let fixture = try SecureFixture()
        let registry = try await fixture.registry()
        let services = [try await fixture.service(0), try await fixture.service(1)]
        #expect(await eventually { await registry.instances(of: "echo").count == 2 })
        let client = try fixture.client("ops")
        var seen = Set<String>()
        for index in 0..<30 {
            #expect(try await client.call("echo", "m\(index)".bytes).text == "m\(index)")
            seen.insert(try await client.call("echo.whoami", []).text)
        }
        #expect(seen == ["echo-1", "echo-2"])
        await client.shutdown()
        for service in services { await service.stop() }
        await registry.stop()
    }

    @Test func aClientWithoutAnAllowedKeyGetsNoReply() async throws {
        let fixture = try SecureFixture()
        let registry = try await fixture.registry()
        let service = try await fixture.service(0)
        #expect(await eventually { await registry.instances(of: "echo").count == 1 })
        // A key the mesh does not know, and no CURVE at all.
        for key in ["intruder", nil] as [String?] {
            let before = await registry.stats().refusedPeers
            let client = try fixture.client(key)
            do {
                _ = try await client.call("echo", "let me in".bytes, options: CallOptions(timeout: .seconds(5)))
                Issue.record("a client with key \(key ?? "none") got a reply")
            } catch {
                #expect(error.code == .forbidden || error.code == .unavailable)
            }
            // Refused at the handshake, and counted, whether the key is unknown or absent.
            #expect(await eventually { await registry.stats().refusedPeers > before }, "key \(key ?? "none")")
            await client.shutdown()
        }
        // Straight to the service too: refused there as well, and it ran nothing.
        var direct = MeshClient.Configuration(discovery: .endpoints([fixture.serviceEndpoints[0]]))
        direct.curve = try fixture.settings("intruder")
        let sneaky = try MeshClient(configuration: direct, logger: testLogger)
        do {
            _ = try await sneaky.call("echo", [1], options: CallOptions(timeout: .seconds(5)))
            Issue.record("the intruder got a reply from the service")
        } catch {
            #expect(error.code == .forbidden)
        }
        await sneaky.shutdown()
        #expect(await service.stats().handlerRuns == 0)
        #expect(await eventually { await service.stats().refusedPeers >= 1 })
        await service.stop()
        await registry.stop()
    }

    @Test func aFakeInstanceCannotRegister() async throws {
        let fixture = try SecureFixture()
        let registry = try await fixture.registry()
        let service = try await fixture.service(0)
        #expect(await eventually { await registry.instances(of: "echo").count == 1 })
        let trap = "tcp://127.0.0.1:1"
        // An allowed client key announcing a new instance, or posing as echo-1 or echo-2 (a
        // connection each: the registry drops a second heartbeat within a quarter interval).
        var peers: [RawPeer] = []
        for node in ["echo-9", "echo-1", "echo-2"] {
            let client = try await fixture.rawRegistryPeer("ops", routingID: "\(node)-fake")
            try await client.announce(node: node, services: ["echo"], endpoint: trap)
            peers.append(client)
        }
        // A real service node's key announcing a service that is not its own.
        // (Its own connection and instance name: a ROUTER refuses a second peer of one name.)
        let echoKey = try await fixture.rawRegistryPeer("echo-1", routingID: "echo-1-kv")
        try await echoKey.announce(node: "echo-1", services: ["kv"], endpoint: trap, instance: "echo-1-kv")
        peers.append(echoKey)
        #expect(await eventually { await registry.stats().forbidden == 4 })
        // A key the mesh does not know does not even get a connection.
        let stranger = try await fixture.rawRegistryPeer("intruder", routingID: "echo-9-fake")
        try await stranger.announce(node: "echo-9", services: ["echo"], endpoint: trap)
        #expect(await eventually { await registry.stats().refusedPeers >= 1 })
        // Only the genuine echo-1 is registered, at its own endpoint.
        let instances = await registry.instances()
        #expect(instances.map(\.node) == ["echo-1"])
        #expect(instances.map(\.endpoint) == [fixture.serviceEndpoints[0]])
        for peer in peers + [stranger] { await peer.close() }
        await service.stop()
        await registry.stop()
    }

    @Test func keyFilesAreWrittenWithSafePermissionsAndUnsafeOnesAreRefused() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("zmesh-keys-\(UUID().uuidString)").path
        let store = KeyStore(directory: directory)
        let pair = try CurveKeyPair.generate()
        try store.write(pair, for: "node-1")
        let secretMode = try FileManager.default.attributesOfItem(atPath: store.secretFile("node-1"))[.posixPermissions] as? Int
        let publicMode = try FileManager.default.attributesOfItem(atPath: store.publicFile("node-1"))[.posixPermissions] as? Int
        let directoryMode = try FileManager.default.attributesOfItem(atPath: directory)[.posixPermissions] as? Int
        #expect(secretMode == 0o600)
        #expect(publicMode == 0o644)
        #expect(directoryMode == 0o700)
        #expect(try store.keyPair(of: "node-1") == pair)
        #expect(try store.publicKey(of: "node-1") == pair.publicKey)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: store.secretFile("node-1"))
        #expect { try store.keyPair(of: "node-1") } throws: { error in
            "\(error)".contains("chmod 600")
        }
        #expect { try store.publicKey(of: "nobody") } throws: { error in
            "\(error)".contains("zmesh keygen")
        }
    }

    @Test func theSecuritySectionIsParsedAndChecked() throws {
        let yaml = """
            topology: brokerless
            security: { curve: true, keys: secret-keys, clients: [ops, app] }
            registries:
              - { name: registry-1, bind: "tcp://127.0.0.1:5550" }
            services:
              - { name: echo-1, service: echo, bind: "tcp://127.0.0.1:5601" }
            """
        let topology = try Topology.parse(yaml: yaml, path: "/etc/zmesh/mesh.yaml")
        #expect(topology.security == Topology.Security(keysDirectory: "/etc/zmesh/secret-keys", clients: ["ops", "app"]))
        #expect(topology.heartbeatPolicy == ["echo-1": ["echo"]])
        let off = try Topology.parse(yaml: yaml.replacingOccurrences(of: "curve: true", with: "curve: false"), path: "m.yaml")
        #expect(off.security == nil)
        #expect { try Topology.parse(yaml: yaml.replacingOccurrences(of: "curve: true", with: "curve: maybe"), path: "m.yaml") } throws: { error in
            (error as? TopologyError)?.key == "security.curve"
        }
        #expect { try Topology.parse(yaml: yaml.replacingOccurrences(of: "[ops, app]", with: "[ops, echo-1]"), path: "m.yaml") } throws: { error in
            (error as? TopologyError)?.key == "security.clients[1]"
        }
    }
}
