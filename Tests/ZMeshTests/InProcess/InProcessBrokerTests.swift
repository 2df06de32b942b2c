import Foundation
import Testing
@testable import ZMesh
import ZMeshTestSupport

/// Clients, brokers, registries and services across the in-process transport: the broker's
/// re-dispatch and deadlines, deterministic on the manual clock.
@Suite("In process: calls through a broker")
struct InProcessBrokerTests {
    /// A registry, service `a` (`holding` its calls), a broker and a client through it.
    static func brokeredMesh(_ runs: Runs, holding: Bool, configure: (inout ServiceNode.Configuration) -> Void = { _ in })
        async throws -> (InProcessMesh, InProcessMesh.Broker, InProcessTransport, InProcessMesh.Client) {
        let mesh = InProcessMesh()
        _ = try await mesh.registry()
        let (_, a) = try await mesh.service("a", Runs.handlers("work", node: "a", runs: runs, holding: holding),
                                            registries: ["inproc://registry"], configure: configure)
        let (broker, _) = try await mesh.broker()
        let client = await mesh.client(.brokers(["inproc://broker"]))
        return (mesh, broker, a, client)
    }

    @Test func aCallThroughABrokerReachesAnInstanceTheRegistryNamed() async throws {
        let runs = Runs()
        let (mesh, broker, _, client) = try await Self.brokeredMesh(runs, holding: false)
        #expect(try await Calls().start(client, "work", "x").value.get() == "a:x")
        #expect(await broker.snapshot().replies == 1)
        withExtendedLifetime(mesh) {}
    }

    @Test func aBrokerLosingAnInstanceSendsItsRequestsToAnotherWithTheSameIDs() async throws {
        let runs = Runs()
        let (mesh, broker, a, client) = try await Self.brokeredMesh(runs, holding: true)
        let calls = Calls()
        let tasks = (0..<3).map { calls.start(client, "work", "\($0)") }
        await runs.waitFor(3)
        // b arrives: the registry publishes the change, the broker looks up (debounced 5 ms).
        _ = try await mesh.service("b", Runs.handlers("work", node: "b", runs: runs, holding: false), registries: ["inproc://registry"])
        await mesh.advance(by: .milliseconds(5))
        #expect(await broker.snapshot().readyInstances == 2)
        await a.kill()
        for task in tasks { #expect(try await task.value.get().hasPrefix("b:")) }
        let first = await runs.runs(on: "a"), second = await runs.runs(on: "b")
        #expect(Set(first.map(\.requestID)) == Set(second.map(\.requestID)))
        #expect(second.count == 3)
        #expect(await broker.snapshot().redispatched == 3)
        await runs.release()
    }

    @Test func aRequestQueuedInTheBrokerExpiresAtItsBudgetAndNeverRuns() async throws {
        let runs = Runs()
        let (mesh, broker, _, client) = try await Self.brokeredMesh(runs, holding: true) { $0.maxConcurrentHandlers = 1 }
        let calls = Calls()
        let first = calls.start(client, "work", "first", options: CallOptions(timeout: .seconds(30)))
        await runs.waitFor(1)
        let second = calls.start(client, "work", "second", options: CallOptions(timeout: .seconds(1)))
        #expect(await eventually { await broker.snapshot().queued == 1 })
        await mesh.advance(by: .milliseconds(999))
        #expect(await broker.snapshot().queued == 1)
        await mesh.advance(by: .milliseconds(1))
        guard case .failure(let error) = await second.value else {
            Issue.record("a queued request outlived its budget")
            return
        }
        #expect(error.code == .timeout)
        #expect(await broker.snapshot().queued == 0)
        await runs.release()
        #expect(try await first.value.get() == "a:first")
        #expect(await runs.runs.count == 1)
    }

    @Test func aCallThroughABrokerToADrainingInstanceGoesToAnother() async throws {
        let runs = Runs()
        let (mesh, broker, _, client) = try await Self.brokeredMesh(runs, holding: false)
        let (b, _) = try await mesh.service("b", Runs.handlers("work", node: "b", runs: runs, holding: false), registries: ["inproc://registry"])
        await mesh.advance(by: .milliseconds(5))
        #expect(await broker.snapshot().readyInstances == 2)
        await b.stopAccepting()
        await mesh.advance(by: .milliseconds(5))
        let calls = Calls()
        for index in 0..<6 { #expect(try await calls.start(client, "work", "\(index)").value.get().hasPrefix("a:")) }
        #expect(await runs.runs(on: "b").isEmpty)
    }

    @Test func aCallCancelledByItsCallerIsCancelledAtTheInstanceThroughTheBroker() async throws {
        let runs = Runs()
        let (mesh, broker, _, client) = try await Self.brokeredMesh(runs, holding: true)
        let task = Calls().start(client, "work")
        await runs.waitFor(1)
        task.cancel()
        guard case .failure(let error) = await task.value else {
            Issue.record("a cancelled call succeeded")
            return
        }
        #expect(error.code == .cancelled)
        #expect(await eventually { await runs.cancelled == 1 })
        await mesh.network.settle()
        #expect(await broker.snapshot().inFlight == 0)
    }

    @Test func aDrainingBrokerRefusesNewCallsAndFinishesThoseItHolds() async throws {
        let runs = Runs()
        let (mesh, broker, _, client) = try await Self.brokeredMesh(runs, holding: true)
        let calls = Calls()
        let held = calls.start(client, "work", "held")
        await runs.waitFor(1)
        await broker.stopAccepting()
        guard case .failure(let error) = await calls.start(client, "work", "new", options: CallOptions(maxAttempts: 1)).value else {
            Issue.record("a draining broker took a new call")
            return
        }
        #expect(error.code == .unavailable)
        #expect(!error.mayHaveRun)
        // The drain waits for the held call (or, started after it ended, returns at once).
        let drained = Task { await broker.waitUntilDrained(limit: .seconds(30)) }
        await runs.release()
        #expect(try await held.value.get() == "a:held")
        _ = await drained.value
        #expect(await broker.snapshot().inFlight == 0)
        #expect(await runs.runs.count == 1)
        withExtendedLifetime(mesh) {}
    }

    @Test func everyRoleAnswersMeshHealthAndABrokerThatDrainsSaysSo() async throws {
        let runs = Runs()
        let (mesh, broker, _, client) = try await Self.brokeredMesh(runs, holding: false)
        let calls = Calls()
        let health = { (reply: Result<String, MeshError>) throws -> NodeHealth in
            try JSONDecoder().decode(NodeHealth.self, from: Data(try reply.get().utf8))
        }
        let viaBroker = try health(await calls.start(client, NodeHealth.name).value)
        #expect(viaBroker.role == "broker" && viaBroker.node == "broker" && viaBroker.status == .live)
        let toService = await mesh.client(.endpoints(["inproc://a"]))
        let service = try health(await calls.start(toService, NodeHealth.name).value)
        #expect(service.role == "service" && service.node == "a" && service.capacity == 256)
        let toRegistry = await mesh.client(.endpoints(["inproc://registry"]))
        let registry = try health(await calls.start(toRegistry, NodeHealth.name).value)
        #expect(registry.role == "registry" && registry.load == 1)
        await broker.stopAccepting()
        #expect(try health(await calls.start(client, NodeHealth.name).value).status == .draining)
    }
}
