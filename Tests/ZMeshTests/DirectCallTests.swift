import Foundation
import Synchronization
import Testing
@testable import ZMesh
import ZMeshTestSupport
import ZeroMQ

@Suite("Calls to a service node at an endpoint")
struct DirectCallTests {
    @Test func echoAnswers() async throws {
        let (node, endpoint) = try await startTestNode()
        let client = try makeClient([endpoint])
        let reply = try await client.call("echo", "hello".bytes)
        #expect(reply.text == "hello")
        await client.shutdown()
        await node.stop()
    }

    @Test func tenThousandConcurrentCallsOnOneSocketEachGetTheirOwnReply() async throws {
        let (node, endpoint) = try await startTestNode()
        let client = try makeClient([endpoint])
        let count = 10_000
        let mismatches = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<count {
                group.addTask {
                    let payload = "call-\(index)-\(index &* 7919)".bytes
                    let reply = try await client.call("echo", payload, options: CallOptions(timeout: .seconds(60)))
                    return reply == payload
                }
            }
            var mismatches = 0
            for try await matched in group where !matched { mismatches += 1 }
            return mismatches
        }
        #expect(mismatches == 0)
        let clientStats = await client.stats()
        #expect(clientStats.succeeded == UInt64(count))
        #expect(clientStats.lateReplies == 0)
        let nodeStats = await node.stats()
        #expect(nodeStats.replies == UInt64(count))
        // One client socket: every call went over the same single connection.
        #expect(await client.core.connectionStates().count == 1)
        await client.shutdown()
        await node.stop()
    }

    @Test func aHandlerHeldBusyDoesNotDelayOtherCalls() async throws {
        let gate = TestGate()
        let (node, endpoint) = try await startTestNode(handlers: TestHandlers().handlers(holdingAt: gate))
        let client = try makeClient([endpoint])
        let held = Task { try await client.call("hold", "held".bytes) }
        #expect(await eventually { await node.stats().running == 1 })
        for index in 0..<50 {
            let reply = try await client.call("echo", "\(index)".bytes)
            #expect(reply.text == "\(index)")
        }
        // All fifty answered while the held handler still runs.
        #expect(await node.stats().running == 1)
        gate.open()
        #expect(try await held.value.text == "held")
        await client.shutdown()
        await node.stop()
    }

    @Test func garbageFromARawSocketIsDroppedAndCountedWhileOthersAreServed() async throws {
        let (node, endpoint) = try await startTestNode()
        let client = try makeClient([endpoint])
        let attacker = try await RawPeer.connect(to: endpoint)
        let good = Header(command: .request, requestID: RequestID(client: 9, sequence: 1), name: "echo").encoded()
        var badSignature = good; badSignature[0] = 0
        var badVersion = good; badVersion[2] = 9
        var badCommand = good; badCommand[3] = 0xEE
        let garbage: [[[UInt8]]] = [
            [[1, 2, 3]],                                 // no delimiter
            [[]],                                        // delimiter, no header
            [[], Array("not a header".utf8)],
            [[], badSignature, [1]],
            [[], badVersion, [1]],
            [[], badCommand, [1]],
            [[], Array(good.prefix(20))],
            [[], good + [0, 0]],
            [[], Header(command: .reply, requestID: RequestID(client: 9, sequence: 1)).encoded()],
            [[], Array(repeating: 0xFF, count: 4096)],
        ]
        let sender = Task {
            for _ in 0..<50 {
                for frames in garbage { try await attacker.send(frames) }
            }
        }
        for index in 0..<200 {
            let reply = try await client.call("echo", "ok-\(index)".bytes)
            #expect(reply.text == "ok-\(index)")
        }
        try await sender.value
        let expected = UInt64(garbage.count * 50)
        #expect(await eventually { await node.stats().malformedTotal == expected })
        let stats = await node.stats()
        #expect(stats.malformed["bad_signature"] == 100)  // the zeroed "ZM" and the 0xFF block
        #expect(stats.malformed["unsupported_version"] == 50)
        #expect(stats.malformed["unknown_command"] == 50)
        #expect(stats.malformed["unexpected_command"] == 50)
        // And the node still serves.
        #expect(try await client.call("echo", "after".bytes).text == "after")
        await attacker.close()
        await client.shutdown()
        await node.stop()
    }

    @Test func typedHandlersDecodeAndEncodeJSON() async throws {
        let (node, endpoint) = try await startTestNode()
        let client = try makeClient([endpoint])
        let reply: Greeting = try await client.call("greet", Greeting(name: "Ada"))
        #expect(reply == Greeting(name: "hello Ada"))
        do {
            _ = try await client.call("greet", "{not json".bytes)
            Issue.record("a body that does not decode must fail")
        } catch {
            #expect(error.code == .badRequest)
        }
        await client.shutdown()
        await node.stop()
    }

    @Test func errorsAreTyped() async throws {
        let (node, endpoint) = try await startTestNode()
        let client = try makeClient([endpoint])
        do {
            _ = try await client.call("fail", [])
            Issue.record("expected an application error")
        } catch {
            #expect(error.code == .application)
            #expect(error.applicationCode == 409)
            #expect(error.message == "conflict on purpose")
        }
        await #expect(throws: MeshError.self) { _ = try await client.call("crash", []) }
        do {
            _ = try await client.call("crash", [])
            Issue.record("expected an internal error")
        } catch { #expect(error.code == .internalError) }
        do {
            _ = try await client.call("nope", [])
            Issue.record("expected not found")
        } catch {
            #expect(error.code == .notFound)
            #expect(error.message.contains("nope"))
        }
        do {
            _ = try await client.call("bad\nname", [])
            Issue.record("expected a bad request")
        } catch { #expect(error.code == .badRequest) }
        await client.shutdown()
        await node.stop()
    }

    @Test func aCallEndsWithTimeoutAtItsDeadlineAndTheHandlerIsCancelled() async throws {
        let (node, endpoint) = try await startTestNode()
        let client = try makeClient([endpoint])
        _ = try await client.call("echo", [0])   // connected first: the 200 ms are the handler's alone
        do {
            _ = try await client.call("sleep", "10000".bytes, options: CallOptions(timeout: .milliseconds(200)))
            Issue.record("expected a timeout")
        } catch {
            #expect(error.code == .timeout)
            #expect(error.mayHaveRun)
        }
        // The handler stops long before its ten seconds: stopped by the client's CANCEL or by
        // the node's own deadline sweep, whichever comes first (both at the deadline).
        #expect(await eventually { await node.stats().running == 0 })
        let stats = await node.stats()
        #expect(stats.cancelled + stats.stoppedAtDeadline == 1)
        await client.shutdown()
        await node.stop()
    }

    @Test func cancellingTheCallingTaskCancelsTheCallAndTheHandler() async throws {
        let (node, endpoint) = try await startTestNode()
        let client = try makeClient([endpoint])
        let call = Task { try await client.call("sleep", "10000".bytes) }
        #expect(await eventually { await node.stats().running == 1 })
        call.cancel()
        do {
            _ = try await call.value
            Issue.record("expected cancellation")
        } catch let error as MeshError {
            #expect(error.code == .cancelled)
        }
        #expect(await eventually { await node.stats().running == 0 })
        await client.shutdown()
        await node.stop()
    }

    @Test func anExpiredRequestIsAnsweredWithADeadlineErrorAndNotRun() async throws {
        let handlers = TestHandlers()
        let (node, endpoint) = try await startTestNode(handlers: handlers.handlers)
        let peer = try await RawPeer.connect(to: endpoint)
        try await peer.request("count", [1], sequence: 1, budget: 0)
        let answer = try #require(try await peer.next())
        #expect(answer.header.command == .error)
        #expect(answer.header.status == StatusCode.deadlineExceeded.rawValue)
        #expect(!answer.header.flags.contains(.mayHaveRun))
        #expect(handlers.runs.total == 0)
        await peer.close()
        await node.stop()
    }

    @Test func aRequestThatExpiresInTheQueueIsNotRun() async throws {
        let handlers = TestHandlers()
        let (node, endpoint) = try await startTestNode(configure: { $0.maxConcurrentHandlers = 1 }, handlers: handlers.handlers)
        let client = try makeClient([endpoint])
        let blocker = Task { try await client.call("sleep", "600".bytes) }
        #expect(await eventually { await node.stats().running == 1 })
        do {
            _ = try await client.call("count", [1], options: CallOptions(timeout: .milliseconds(100)))
            Issue.record("expected a timeout")
        } catch {
            #expect(error.code == .timeout)
        }
        _ = try await blocker.value
        #expect(await eventually {
            let stats = await node.stats()
            return stats.queued == 0 && stats.running == 0
        })
        #expect(handlers.runs.total == 0)
        await client.shutdown()
        await node.stop()
    }

    @Test func handlersRunConcurrentlyUpToTheBound() async throws {
        let peak = Mutex<(now: Int, max: Int)>((0, 0))
        var handlers = ServiceHandlers()
        handlers.register("work") { payload, _ in
            peak.withLock { $0.now += 1; $0.max = max($0.max, $0.now) }
            try await Task.sleep(for: .milliseconds(30))
            peak.withLock { $0.now -= 1 }
            return payload
        }
        let (node, endpoint) = try await startTestNode(configure: { $0.maxConcurrentHandlers = 4 }, handlers: handlers)
        let client = try makeClient([endpoint])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<24 {
                group.addTask {
                    let reply = try await client.call("work", [UInt8(index)])
                    #expect(reply == [UInt8(index)])
                }
            }
            try await group.waitForAll()
        }
        #expect(peak.withLock { $0.max } == 4)
        await client.shutdown()
        await node.stop()
    }

    @Test func aFullQueueAnswersOverloadedAtOnce() async throws {
        let gate = TestGate()
        let (node, endpoint) = try await startTestNode(configure: {
            $0.maxConcurrentHandlers = 1
            $0.maxQueuedRequests = 1
        }, handlers: TestHandlers().handlers(holdingAt: gate))
        let client = try makeClient([endpoint])
        let first = Task { try await client.call("hold", [1]) }
        #expect(await eventually { await node.stats().running == 1 })
        let second = Task { try await client.call("hold", [2]) }
        #expect(await eventually { await node.stats().queued == 1 })
        do {
            _ = try await client.call("echo", [1])
            Issue.record("expected overloaded")
        } catch {
            #expect(error.code == .overloaded)
            #expect(!error.mayHaveRun)
        }
        gate.open()
        #expect(try await first.value == [1])
        #expect(try await second.value == [2])
        await client.shutdown()
        await node.stop()
    }

    @Test func aRetriedRequestIdIsAnsweredFromTheReplyCacheNotRunTwice() async throws {
        let handlers = TestHandlers()
        let (node, endpoint) = try await startTestNode(handlers: handlers.handlers)
        let peer = try await RawPeer.connect(to: endpoint)
        try await peer.request("count", [7], sequence: 5)
        let first = try #require(try await peer.next())
        try await peer.request("count", [7], sequence: 5)
        let second = try #require(try await peer.next())
        #expect(first.header.command == .reply)
        #expect(second.header.command == .reply)
        #expect(second.body == [[7]])
        #expect(handlers.runs.total == 1)
        #expect(await node.stats().cacheHits == 1)
        await peer.close()
        await node.stop()
    }

    @Test func aReplyToAClientGoneMeanwhileIsCountedUnroutable() async throws {
        let (node, endpoint) = try await startTestNode()
        let peer = try await RawPeer.connect(to: endpoint)
        try await peer.request("sleep", Array("300".utf8), sequence: 1)
        #expect(await eventually { await node.stats().handlerRuns == 1 })
        await peer.close()
        // The reply waits in the socket until the end of the loop's turn (send coalescing), and
        // libzmq refuses it then: it is counted as one that could not be routed, as before.
        #expect(await eventually { await node.stats().unroutableReplies == 1 })
        await node.stop()
    }

    @Test func aDuplicateArrivingWhileTheFirstRunsJoinsIt() async throws {
        let (node, endpoint) = try await startTestNode()
        let peer = try await RawPeer.connect(to: endpoint)
        try await peer.request("sleep", "200".bytes, sequence: 9)
        try await peer.request("sleep", "200".bytes, sequence: 9)
        let first = try #require(try await peer.next())
        let second = try #require(try await peer.next())
        #expect(first.header.requestID == second.header.requestID)
        let stats = await node.stats()
        #expect(stats.handlerRuns == 1)
        #expect(stats.duplicatesJoined == 1)
        await peer.close()
        await node.stop()
    }

    @Test func noListeningInstanceFailsFastWithUnavailable() async throws {
        // A port nobody listens on, from the range no wildcard bind takes (a port a node bound
        // and closed could be handed straight to another test's wildcard bind meanwhile).
        let endpoint = "tcp://127.0.0.1:\(try freePorts(1)[0])"
        let client = try makeClient([endpoint])
        let started = ContinuousClock.now
        do {
            _ = try await client.call("echo", [1], options: CallOptions(timeout: .seconds(30)))
            Issue.record("expected unavailable")
        } catch {
            #expect(error.code == .unavailable)
            #expect(error.message.contains(endpoint))
        }
        // Fast: nowhere near the thirty-second deadline.
        #expect(ContinuousClock.now - started < .seconds(10))
        await client.shutdown()
    }

    @Test func aWrongEndpointIsNamed() {
        #expect {
            _ = try makeClient(["tcp://127.0.0.1:99999"])
        } throws: { error in
            (error as? ConfigurationError)?.message.contains("tcp://127.0.0.1:99999") == true
        }
    }

    @Test func shutdownEndsCallsInFlightWithClosed() async throws {
        let (node, endpoint) = try await startTestNode()
        let client = try makeClient([endpoint])
        let call = Task { try await client.call("sleep", "5000".bytes) }
        #expect(await eventually { await node.stats().running == 1 })
        await client.shutdown()
        do {
            _ = try await call.value
            Issue.record("expected closed")
        } catch let error as MeshError {
            #expect(error.code == .closed)
        }
        await node.stop(gracePeriod: .zero)
    }
}
