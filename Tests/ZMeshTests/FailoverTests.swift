import Foundation
import Testing
@testable import ZMesh
import ZMeshTestSupport

@Suite("Failover between instances")
struct FailoverTests {
    @Test func anIdempotentCallInFlightMovesToTheOtherInstanceWithTheSameRequestID() async throws {
        let (first, firstEndpoint) = try await startTestNode(name: "a")
        let (second, secondEndpoint) = try await startTestNode(name: "b")
        let client = try makeClient([firstEndpoint, secondEndpoint])
        // Wait for both connections, then pin a slow call on whichever instance takes it.
        #expect(await eventually { await client.core.connectionStates().values.allSatisfy { $0 } })
        let call = Task { try await client.call("sleep", "3000".bytes, options: CallOptions(timeout: .seconds(20))) }
        var busy: ServiceNode?
        #expect(await eventually {
            if await first.stats().running == 1 { busy = first } else if await second.stats().running == 1 { busy = second }
            return busy != nil
        })
        let survivor = busy === first ? second : first
        await busy?.stop(gracePeriod: .zero)
        // Re-sent to the survivor as attempt 1 of the same request, and answered there.
        #expect(try await call.value.text == "3000")
        #expect(await survivor.stats().handlerRuns == 1)
        #expect(await client.stats().retries >= 1)
        await client.shutdown()
        await survivor.stop()
    }

    @Test func aNonIdempotentCallInFlightEndsUnavailableSayingItMayHaveRun() async throws {
        let (first, firstEndpoint) = try await startTestNode(name: "a")
        let (second, secondEndpoint) = try await startTestNode(name: "b")
        let client = try makeClient([firstEndpoint, secondEndpoint])
        #expect(await eventually { await client.core.connectionStates().values.allSatisfy { $0 } })
        let call = Task {
            try await client.call("sleep", "3000".bytes, options: CallOptions(timeout: .seconds(20), idempotent: false))
        }
        var busy: ServiceNode?
        #expect(await eventually {
            if await first.stats().running == 1 { busy = first } else if await second.stats().running == 1 { busy = second }
            return busy != nil
        })
        let survivor = busy === first ? second : first
        await busy?.stop(gracePeriod: .zero)
        do {
            _ = try await call.value
            Issue.record("a non-idempotent call must not be re-sent")
        } catch let error as MeshError {
            #expect(error.code == .unavailable)
            #expect(error.mayHaveRun)
        }
        #expect(await survivor.stats().handlerRuns == 0)
        await client.shutdown()
        await survivor.stop()
    }

    @Test func aDrainingInstanceRefusesNewCallsWhichGoElsewhere() async throws {
        let (first, firstEndpoint) = try await startTestNode(name: "a")
        let (second, secondEndpoint) = try await startTestNode(name: "b")
        let client = try makeClient([firstEndpoint, secondEndpoint])
        #expect(await eventually { await client.core.connectionStates().values.allSatisfy { $0 } })
        // Keep "a" busy so its stop waits, draining.
        let held = Task { try await client.call("sleep", "800".bytes, options: CallOptions(timeout: .seconds(20))) }
        var holder: ServiceNode?
        #expect(await eventually {
            if await first.stats().running == 1 { holder = first } else if await second.stats().running == 1 { holder = second }
            return holder != nil
        })
        let other = holder === first ? second : first
        let stopping = Task { [holder] in await holder?.stop(gracePeriod: .seconds(5)) }
        // While it drains, every new call is answered (by the other, or refused and re-sent there).
        for index in 0..<50 { #expect(try await client.call("echo", [UInt8(index)]) == [UInt8(index)]) }
        #expect(try await held.value.text == "800")
        await stopping.value
        #expect(await other.stats().replies >= 50)
        await client.shutdown()
        await other.stop()
    }
}
