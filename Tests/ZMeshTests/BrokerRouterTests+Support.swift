import Testing
@testable import ZMesh
import ZeroMQ
import ZMeshTestSupport

/// The recording output and the helpers of ``BrokerRouterTests``.
extension BrokerRouterTests {
    /// Records what the router asks for, in order.
    struct Recorder: BrokerRouterOutput {
        /// One thing the router asked for.
        enum Event: Equatable {
            /// A request (or CANCEL) sent to an instance.
            case send(instance: String, route: [[UInt8]], header: Header, body: [[UInt8]])
            /// A mesh REPLY or ERROR to a client.
            case reply(route: [[UInt8]], header: Header, body: [[UInt8]])
            /// An MDP PARTIAL or FINAL to an MDP client, in its dialect.
            case majordomo(ZMesh.MDP.ClientCommand, route: [[UInt8]], service: String, status: UInt16?, body: [[UInt8]],
                           dialect: ZMesh.MDP.Dialect = .rfc18)
            /// The back end connected to an instance.
            case connect(String, endpoint: String)
            /// The back end disconnected from an endpoint.
            case disconnect(String)
            /// A command to a worker, in its dialect.
            case tell([UInt8], ZMesh.MDP.WorkerCommand, dialect: ZMesh.MDP.Dialect = .rfc18)
            /// The workers changed.
            case workersChanged(WorkerSummary)
        }

        /// Everything asked for but sweeps and idles, in order.
        var events: [Event] = []
        /// How many sweeps were asked for.
        var sweeps = 0
        /// How many times the router said it holds nothing.
        var idles = 0
        /// Instances whose sends fail (not connected after all).
        var unsendable: Set<String> = []

        /// A request to an instance: recorded, unless the instance is unsendable.
        mutating func send(_ header: Header, body: [[UInt8]], route: [[UInt8]], to instance: BrokerRouter.Instance) -> Bool {
            guard !unsendable.contains(instance.id) else { return false }
            events.append(.send(instance: instance.id, route: route, header: header, body: body))
            return true
        }
        /// A mesh reply: recorded.
        mutating func reply(to route: [[UInt8]], header: Header, body: [[UInt8]]) -> Bool {
            events.append(.reply(route: route, header: header, body: body))
            return true
        }
        /// An MDP reply: recorded.
        mutating func replyMajordomo(_ command: ZMesh.MDP.ClientCommand, to route: [[UInt8]], caller: ZMesh.MDP.Caller,
                                     status: UInt16?, body: [[UInt8]]) -> Bool {
            events.append(.majordomo(command, route: route, service: caller.service, status: status, body: body,
                                     dialect: caller.dialect))
            return true
        }
        /// A connect: recorded; it works.
        mutating func connect(instance id: String, endpoint: String, routingID: [UInt8]) -> Bool {
            events.append(.connect(id, endpoint: endpoint))
            return true
        }
        /// A disconnect: recorded.
        mutating func disconnect(from endpoint: String) { events.append(.disconnect(endpoint)) }
        /// A worker command: recorded.
        mutating func tell(worker routingID: [UInt8], dialect: ZMesh.MDP.Dialect, _ command: ZMesh.MDP.WorkerCommand) {
            events.append(.tell(routingID, command, dialect: dialect))
        }
        /// A change of workers: recorded.
        mutating func workersChanged(_ workers: WorkerSummary) { events.append(.workersChanged(workers)) }
        /// Counted.
        mutating func armSweep() { sweeps += 1 }
        /// Counted.
        mutating func idle() { idles += 1 }

        /// Takes what was recorded so far.
        mutating func take() -> [Event] {
            defer { events = [] }
            return events
        }
    }

    /// A client's route.
    static let alice: [[UInt8]] = [Array("alice".utf8)]
    /// Another client's route.
    static let bob: [[UInt8]] = [Array("bob".utf8)]
    /// The request ids' client part the router gives MDP requests here.
    static let majordomoClient: UInt64 = 0x4D44

    /// A router named b-1 with the default configuration, changed by `configure`.
    static func router(seed: UInt64 = 1, _ configure: (inout BrokerNode.Configuration) -> Void = { _ in }) -> BrokerRouter {
        var configuration = BrokerNode.Configuration(name: "b-1", bind: "tcp://127.0.0.1:0")
        configure(&configuration)
        return BrokerRouter(configuration: configuration, logger: testLogger, seed: seed, majordomoClientID: majordomoClient)
    }

    /// The made-up endpoint of instance `id`.
    static func endpoint(_ id: String) -> String { "tcp://\(id).test:5555" }

    /// A live instance as a registry lists it.
    static func info(_ id: String, services: [String] = ["echo"], capacity: Int = 10) -> InstanceInfo {
        InstanceInfo(instance: id, node: id, endpoint: endpoint(id), services: services, load: 0, capacity: capacity,
                     health: .live, lastHeartbeatMillisecondsAgo: 0, role: nil)
    }

    /// A router that learned `ids` from a complete registry answer, their connections up.
    static func mesh(_ ids: [String], capacity: Int = 10, seed: UInt64 = 1, clock: ManualClock = ManualClock(),
                     _ configure: (inout BrokerNode.Configuration) -> Void = { _ in }) -> (BrokerRouter, Recorder) {
        var router = router(seed: seed, configure)
        var out = Recorder()
        router.apply(ids.map { info($0, capacity: capacity) }, complete: true, now: clock.now, output: &out)
        for id in ids { router.connected(endpoint: endpoint(id), now: clock.now, output: &out) }
        _ = out.take()
        return (router, out)
    }

    /// A REQUEST from client 7.
    static func request(_ sequence: UInt64, _ name: String = "echo", budget: UInt32 = Header.noBudget,
                        idempotent: Bool = true) -> Header {
        var header = Header(command: .request, requestID: RequestID(client: 7, sequence: sequence), name: name)
        header.budgetMilliseconds = budget
        header.flags = idempotent ? [.idempotent] : []
        return header
    }

    /// The request as the broker forwards it: the next attempt, the budget left.
    static func forwarded(_ request: Header, attempt: UInt8 = 0, budget: UInt32 = 600_000) -> Header {
        var header = request
        header.attempt = attempt
        header.budgetMilliseconds = budget
        return header
    }

    /// The broker's own ERROR for `request`.
    static func error(_ request: Header, to route: [[UInt8]], _ status: StatusCode, flags: Header.Flags = [],
                      _ message: String) -> Recorder.Event {
        var header = Header(command: .error, requestID: request.requestID)
        header.attempt = request.attempt
        header.status = status.rawValue
        header.flags = flags
        return .reply(route: route, header: header, body: [Array(message.utf8)])
    }

    /// A request body.
    static let body: [[UInt8]] = [[1, 2, 3]]
}
