import Testing
@testable import ZMesh
import ZMeshTestSupport

/// Registries, the services that heartbeat to them and the clients that ask them, across the
/// in-process transport: deterministic liveness on the manual clock.
@Suite("In process: registries and discovery")
struct InProcessDiscoveryTests {
    static let registryAddress = RegistryAddress(endpoint: "inproc://registry", publish: "inproc://registry-pub")

    @Test func aServiceIsFoundThroughTheRegistryAndCalledByName() async throws {
        let mesh = InProcessMesh()
        let runs = Runs()
        _ = try await mesh.registry()
        _ = try await mesh.service("a", Runs.handlers("work", node: "a", runs: runs, holding: false), registries: ["inproc://registry"])
        let client = await mesh.client(.registries([Self.registryAddress]))
        #expect(try await Calls().start(client, "work", "x").value.get() == "a:x")
        #expect(await client.knownEndpoints(of: "work") == ["inproc://a"])
    }

    @Test func aKilledServiceIsEvictedExactlyWhenItsLivenessIntervalsPass() async throws {
        let mesh = InProcessMesh()
        let (registry, _) = try await mesh.registry()
        let (_, a) = try await mesh.service("a", Runs.handlers("work", node: "a", runs: Runs(), holding: false),
                                            registries: ["inproc://registry"])
        #expect(await registry.instances(of: "work").count == 1)
        await a.kill()   // no goodbye: only silence
        let expiry = InProcessMesh.heartbeat.expiry
        await mesh.advance(by: expiry - .milliseconds(1))
        #expect(await registry.instances(of: "work").count == 1)
        await mesh.advance(by: .milliseconds(1))
        #expect(await registry.instances(of: "work").isEmpty)
        #expect(await registry.snapshot().evictions == 1)
    }

    @Test func aLiveServiceStaysListedAcrossManyExpiryPeriods() async throws {
        let mesh = InProcessMesh()
        let (registry, _) = try await mesh.registry()
        _ = try await mesh.service("a", Runs.handlers("work", node: "a", runs: Runs(), holding: false), registries: ["inproc://registry"])
        for _ in 0..<10 { await mesh.advance(by: InProcessMesh.heartbeat.expiry) }
        #expect(await registry.instances(of: "work").count == 1)
        #expect(await registry.snapshot().evictions == 0)
        #expect(await registry.snapshot().heartbeats >= 30)
    }

    @Test func aStoppingServiceLeavesTheRegistryAtOnce() async throws {
        let mesh = InProcessMesh()
        let (registry, _) = try await mesh.registry()
        let (service, _) = try await mesh.service("a", Runs.handlers("work", node: "a", runs: Runs(), holding: false),
                                                  registries: ["inproc://registry"])
        #expect(await registry.instances(of: "work").count == 1)
        await service.stopAccepting()
        await mesh.network.settle()
        #expect(await registry.instances(of: "work").isEmpty)
        #expect(await registry.snapshot().departures == 1)
    }

    @Test func anIncompleteAnswerFromARestartedRegistryOnlyAddsInstances() async throws {
        let mesh = InProcessMesh()
        let (_, first) = try await mesh.registry()
        _ = try await mesh.service("a", Runs.handlers("work", node: "a", runs: Runs(), holding: false), registries: ["inproc://registry"])
        let client = await mesh.client(.registries([Self.registryAddress]))
        #expect(try await Calls().start(client, "work").value.get() == "a:")
        #expect(await client.knownEndpoints(of: "work") == ["inproc://a"])
        // The registry restarts knowing nothing; before a heartbeats again, b arrives. The
        // new registry's change event lists only b, marked incomplete (it has not yet been up
        // for a liveness period): the client adds b and keeps a.
        await first.kill()
        _ = try await mesh.registry()
        _ = try await mesh.service("b", Runs.handlers("work", node: "b", runs: Runs(), holding: false), registries: ["inproc://registry"])
        await mesh.network.settle()
        #expect(await client.knownEndpoints(of: "work")?.sorted() == ["inproc://a", "inproc://b"])
    }

    @Test func aRegistryThatJustStartedAndKnowsNoInstanceIsNotTheLastWord() async throws {
        let mesh = InProcessMesh()
        _ = try await mesh.registry()
        _ = try await mesh.service("a", Runs.handlers("work", node: "a", runs: Runs(), holding: false), registries: ["inproc://registry"])
        // A second registry starts, settling (its answers incomplete) and hearing from nobody:
        // the client asks it first, it lists nothing, and the client asks the other.
        let (late, _) = try await mesh.registry("registry-2")
        let lateAddress = RegistryAddress(endpoint: "inproc://registry-2", publish: "inproc://registry-2-pub")
        let client = await mesh.client(.registries([lateAddress, Self.registryAddress]))
        #expect(try await Calls().start(client, "work", "x").value.get() == "a:x")
        #expect(await late.snapshot().lookups == 1)
        #expect(await client.knownEndpoints(of: "work") == ["inproc://a"])
    }

    @Test func aNameNoInstanceServesEndsUnavailableWithoutRunning() async throws {
        let mesh = InProcessMesh()
        _ = try await mesh.registry()
        _ = try await mesh.service("a", Runs.handlers("work", node: "a", runs: Runs(), holding: false), registries: ["inproc://registry"])
        let client = await mesh.client(.registries([Self.registryAddress]))
        guard case .failure(let error) = await Calls().start(client, "nobody.serves.this").value else {
            Issue.record("a call for an unknown name succeeded")
            return
        }
        #expect(error.code == .unavailable)
        #expect(!error.mayHaveRun)
    }
}
