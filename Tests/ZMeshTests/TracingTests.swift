import InMemoryTracing
import Testing
import Tracing
@testable import ZMesh
import ZMeshTestSupport

/// Distributed tracing over real libzmq sockets, in both topologies: a client's call to a
/// service whose handler calls a second service is one trace, every span parented on the
/// one before (the in-process suite covers the same logic on a manual clock).
@Suite("Tracing over real sockets")
struct TracingTests {
    @Test(arguments: [false, true])
    func aCallAndItsHandlersNestedCallAreOneTrace(brokered: Bool) async throws {
        let tracer = W3CTestTracer()
        let fast = Topology.Heartbeat(interval: .milliseconds(200), liveness: 3)
        var registry: RegistryNode?
        var registries: [String] = []
        var registryAddress: RegistryAddress?
        if brokered {
            var configuration = RegistryNode.Configuration(name: "registry-1", bind: "tcp://127.0.0.1:*", publish: "tcp://127.0.0.1:*")
            configuration.heartbeat = fast
            let node = try RegistryNode(configuration: configuration, logger: testLogger)
            let address = RegistryAddress(endpoint: try await node.start(), publish: await node.publishEndpoint)
            registry = node
            registries = [address.endpoint]
            registryAddress = address
        }
        let serving: (inout ServiceNode.Configuration) -> Void = {
            $0.registries = registries
            $0.heartbeat = fast
            $0.interceptors = [ServerTracingInterceptor(tracer: tracer)]
        }
        var backHandlers = ServiceHandlers()
        backHandlers.register("back") { payload, _ in payload + "!".bytes }
        let (back, backEndpoint) = try await startTestNode(name: "back-1", configure: serving, handlers: backHandlers)

        var broker: BrokerNode?
        var front = ""
        if let registryAddress {
            var configuration = BrokerNode.Configuration(name: "broker-1", bind: "tcp://127.0.0.1:*")
            configuration.registries = [registryAddress]
            configuration.heartbeat = fast
            configuration.tracer = tracer
            let node = try BrokerNode(configuration: configuration, logger: testLogger)
            front = try await node.start()
            broker = node
        }
        func tracedClient(_ discovery: Discovery) throws -> MeshClient {
            var configuration = MeshClient.Configuration(discovery: discovery)
            configuration.interceptors = [ClientTracingInterceptor(tracer: tracer)]
            return try MeshClient(configuration: configuration, logger: testLogger)
        }
        let nested = try tracedClient(brokered ? .brokers([front]) : .endpoints([backEndpoint]))
        var frontHandlers = ServiceHandlers()
        frontHandlers.register("front") { payload, _ in try await nested.call("back", payload) }
        let (frontNode, frontEndpoint) = try await startTestNode(name: "front-1", configure: serving, handlers: frontHandlers)
        if let broker {
            #expect(await eventually { await broker.stats().readyInstances == 2 })
        }
        let client = try tracedClient(brokered ? .brokers([front]) : .endpoints([frontEndpoint]))

        #expect(try await client.call("front", "hi".bytes).text == "hi!")

        let spans = tracer.finishedSpans
        let expected = expectedNestedCallSpans(brokered: brokered)
        #expect(spans.count == expected.count, "\(spans.map(\.operationName))")
        #expect(Set(spans.map(\.traceID)).count == 1, "one trace")
        // Walk from the root down: each span's parent is the one before it.
        let chain = parentChain(spans)
        #expect(chain.map(\.operationName) == expected.map(\.name))
        #expect(chain.map(\.kind) == expected.map(\.kind))

        await client.shutdown()
        await nested.shutdown()
        await broker?.stop(gracePeriod: .milliseconds(100))
        await frontNode.stop()
        await back.stop()
        await registry?.stop()
    }
}
