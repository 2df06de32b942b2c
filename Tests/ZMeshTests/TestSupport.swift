import Foundation
import Logging
@testable import ZMesh
import ZeroMQ

/// A logger for tests: warnings and up, to stderr.
let testLogger: Logger = {
    var logger = Logger(label: "zmesh.tests")
    logger.logLevel = ProcessInfo.processInfo.environment["ZMESH_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
    return logger
}()

/// Handlers shared by tests: echo, a slow one, one that fails, one that counts runs.
struct TestHandlers {
    let runs = RunCounter()

    var handlers: ServiceHandlers {
        var handlers = ServiceHandlers()
        handlers.register("echo") { payload, _ in payload }
        let runs = self.runs
        handlers.register("count") { payload, context in
            runs.record(context.requestID)
            return payload
        }
        handlers.register("sleep") { payload, _ in
            let milliseconds = Int(String(decoding: payload, as: UTF8.self)) ?? 100
            try await Task.sleep(for: .milliseconds(milliseconds))
            return payload
        }
        handlers.register("fail") { _, _ in throw ServiceError(code: 409, message: "conflict on purpose") }
        handlers.register("crash") { _, _ in throw CocoaError(.fileNoSuchFile) }
        handlers.register("greet") { (request: Greeting, _) in Greeting(name: "hello \(request.name)") }
        return handlers
    }
}

struct Greeting: Codable, Sendable, Equatable {
    let name: String
}

/// Counts handler runs by request id, across threads.
final class RunCounter: Sendable {
    private let storage = Mutex<[RequestID: Int]>([:])
    func record(_ id: RequestID) { storage.withLock { $0[id, default: 0] += 1 } }
    var total: Int { storage.withLock { $0.values.reduce(0, +) } }
    var maxPerRequest: Int { storage.withLock { $0.values.max() ?? 0 } }
    var distinct: Int { storage.withLock { $0.count } }
}

import Synchronization

/// A service node on a free loopback port with the test handlers.
func startTestNode(name: String = "test-1", configure: (inout ServiceNode.Configuration) -> Void = { _ in },
                   handlers: ServiceHandlers = TestHandlers().handlers) async throws -> (ServiceNode, String) {
    var configuration = ServiceNode.Configuration(name: name, bind: "tcp://127.0.0.1:*")
    configure(&configuration)
    let node = try ServiceNode(configuration: configuration, handlers: handlers, logger: testLogger)
    let endpoint = try await node.start()
    return (node, endpoint)
}

func makeClient(_ endpoints: [String], configure: (inout MeshClient.Configuration) -> Void = { _ in }) throws -> MeshClient {
    var configuration = MeshClient.Configuration(discovery: .endpoints(endpoints))
    configure(&configuration)
    let client = try MeshClient(configuration: configuration, logger: testLogger)
    client.connect()   // as tests did before connections became lazy: they wait for them up
    return client
}

extension String {
    var bytes: [UInt8] { Array(utf8) }
}

extension Array where Element == UInt8 {
    var text: String { String(decoding: self, as: UTF8.self) }
}

/// A value several tasks share, behind a mutex (a class, so escaping closures can capture it).
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    var value: Value {
        get { mutex.withLock { $0 } }
        set { mutex.withLock { $0 = newValue } }
    }
    @discardableResult
    func update<T: Sendable>(_ body: (inout Value) -> T) -> T { mutex.withLock { body(&$0) } }
}

/// A registry, one service node with the test handlers and a broker, in this process, with
/// fast heartbeats.
struct SmallBrokeredMesh {
    let registry: RegistryNode
    let service: ServiceNode
    let broker: BrokerNode
    let front: String

    static func start(configure: (inout BrokerNode.Configuration) -> Void = { _ in }) async throws -> SmallBrokeredMesh {
        let fast = Topology.Heartbeat(interval: .milliseconds(200), liveness: 3)
        var registryConfiguration = RegistryNode.Configuration(name: "registry-1", bind: "tcp://127.0.0.1:*",
                                                               publish: "tcp://127.0.0.1:*")
        registryConfiguration.heartbeat = fast
        let registry = try RegistryNode(configuration: registryConfiguration, logger: testLogger)
        let registryAddress = RegistryAddress(endpoint: try await registry.start(), publish: await registry.publishEndpoint)
        let (service, _) = try await startTestNode(name: "echo-1", configure: {
            $0.registries = [registryAddress.endpoint]
            $0.heartbeat = fast
        })
        var brokerConfiguration = BrokerNode.Configuration(name: "broker-1", bind: "tcp://127.0.0.1:*")
        brokerConfiguration.registries = [registryAddress]
        brokerConfiguration.heartbeat = fast
        configure(&brokerConfiguration)
        let broker = try BrokerNode(configuration: brokerConfiguration, logger: testLogger)
        let front = try await broker.start()
        return SmallBrokeredMesh(registry: registry, service: service, broker: broker, front: front)
    }

    func stop() async {
        await broker.stop(gracePeriod: .milliseconds(100))
        await service.stop()
        await registry.stop()
    }
}
