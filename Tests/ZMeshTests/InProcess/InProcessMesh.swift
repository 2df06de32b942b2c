import Logging
import MeshClock
@testable import ZMesh
import ZMeshTestSupport
import Synchronization

/// Nodes of every role on one ``InProcessNetwork``: the mesh's shells and state machines as
/// in production, with no sockets, one serial queue, and time that moves only on
/// ``advance(by:)``. Its nodes live as long as the mesh: a test keeps it to its end.
struct InProcessMesh {
    typealias Service = ServiceCore<InProcessTransport>
    typealias Client = ClientCore<InProcessTransport>
    typealias Registry = RegistryCore<InProcessTransport>
    typealias Broker = BrokerCore<InProcessTransport>

    let network = InProcessNetwork()
    /// Every node made, kept alive for the test (a node's shell holds its core in production;
    /// sockets hold their cores only weakly).
    private let nodes = Nodes()
    static let logger = Logger(label: "in-process", factory: { _ in SwiftLogNoOpLogHandler() })
    static let heartbeat = Topology.Heartbeat()

    /// A service node bound at `inproc://NAME`, heartbeating to `registries`, started.
    func service(_ name: String, _ handlers: ServiceHandlers, registries: [String] = [], logger: Logger = Self.logger,
                 configure: (inout ServiceNode.Configuration) -> Void = { _ in }) async throws -> (Service, InProcessTransport) {
        var configuration = ServiceNode.Configuration(name: name, bind: "inproc://\(name)")
        configuration.registries = registries
        configuration.heartbeat = Self.heartbeat
        configure(&configuration)
        let transport = network.transport(named: name)
        let core = Service(transport: transport, configuration: configuration, handlers: handlers, logger: logger)
        return (try await started(core), transport)
    }

    /// A registry at `inproc://NAME` publishing at `inproc://NAME-pub`, started.
    func registry(_ name: String = "registry") async throws -> (Registry, InProcessTransport) {
        var configuration = RegistryNode.Configuration(name: name, bind: "inproc://\(name)", publish: "inproc://\(name)-pub")
        configuration.heartbeat = Self.heartbeat
        let transport = network.transport(named: name)
        let core = Registry(transport: transport, configuration: configuration, logger: Self.logger)
        return (try await started(core), transport)
    }

    /// A broker at `inproc://NAME` that finds instances through `registries`, started.
    func broker(_ name: String = "broker", registries: [String] = ["registry"],
                configure: (inout BrokerNode.Configuration) -> Void = { _ in }) async throws -> (Broker, InProcessTransport) {
        var configuration = BrokerNode.Configuration(name: name, bind: "inproc://\(name)")
        configuration.registries = registries.map { RegistryAddress(endpoint: "inproc://\($0)", publish: "inproc://\($0)-pub") }
        configuration.heartbeat = Self.heartbeat
        configure(&configuration)
        let transport = network.transport(named: name)
        let core = Broker(transport: transport, configuration: configuration, logger: Self.logger)
        return (try await started(core), transport)
    }

    /// `core`, kept alive, started, and everything its start sent delivered.
    private func started<Core: NodeCore>(_ core: Core) async throws -> Core {
        nodes.keep(core)
        _ = try await core.startNode()
        await network.settle()
        return core
    }

    /// A client finding services as `discovery` says, connected.
    func client(_ discovery: Discovery, named name: String = "client", clientID: UInt64 = 7,
                configure: (inout MeshClient.Configuration) -> Void = { _ in }) async -> Client {
        var configuration = MeshClient.Configuration(discovery: discovery)
        configure(&configuration)
        let core = Client(transport: network.transport(named: name), clientID: clientID, configuration: configuration, logger: Self.logger)
        nodes.keep(core)
        await core.startIfNeeded()
        await network.settle()
        return core
    }

    /// Moves the clock on, firing the timers due and delivering what they send.
    func advance(by duration: Duration) async { await network.advance(by: duration) }
}

/// The nodes of a test's mesh.
final class Nodes: Sendable {
    private let all = Mutex<[any Actor]>([])
    func keep(_ node: any Actor) { all.withLock { $0.append(node) } }
}

/// Counts calls per client: each gets its own sequence number.
final class Calls: Sendable {
    private let next = Mutex<UInt64>(0)

    /// Starts a call on `client` as a task; its result is the reply's text, or the error.
    /// The next sequence number.
    func nextSequence() -> UInt64 {
        next.withLock { value in
            value += 1
            return value
        }
    }

    func start(_ client: InProcessMesh.Client, _ name: String, _ payload: String = "",
               options: CallOptions = CallOptions()) -> Task<Result<String, MeshError>, Never> {
        let seq = nextSequence()
        return Task {
            do throws(MeshError) {
                let reply = try await client.call(name, Array(payload.utf8), metadata: options.metadata, options: options, sequence: seq)
                return .success(String(decoding: reply.payload, as: UTF8.self))
            } catch {
                return .failure(error)
            }
        }
    }
}

extension Calls {
    /// Starts a call of a whole request on `client`, through its interceptors.
    func start(_ client: InProcessMesh.Client, _ name: String, request: MeshRequest,
               options: CallOptions = CallOptions()) -> Task<Result<MeshReply, MeshError>, Never> {
        Task {
            do throws(MeshError) {
                return .success(try await client.call(name, request: request, options: options) { self.nextSequence() })
            } catch {
                return .failure(error)
            }
        }
    }
}

/// What handlers saw, and a way to await it: each run is recorded with the node it ran on.
actor Runs {
    struct Run: Equatable {
        let node: String
        let requestID: RequestID
        let attempt: Int
    }

    private(set) var runs: [Run] = []
    private(set) var cancelled = 0
    private var waiters: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
    private var held: [CheckedContinuation<Void, Never>] = []
    private var released = false

    func record(_ node: String, _ context: RequestContext) {
        runs.append(Run(node: node, requestID: context.requestID, attempt: context.attempt))
        let ready = waiters.filter { $0.count <= runs.count }
        waiters.removeAll { $0.count <= runs.count }
        for waiter in ready { waiter.continuation.resume() }
    }

    /// Returns once `count` runs have started.
    func waitFor(_ count: Int) async {
        if runs.count >= count { return }
        await withCheckedContinuation { waiters.append((count, $0)) }
    }

    /// Suspends a handler until ``release()`` (or its task is cancelled).
    func hold() async {
        if released { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { held.append($0) }
        } onCancel: {
            Task { await self.cancelHeld() }
        }
    }

    private func cancelHeld() {
        cancelled += 1
        for waiter in held { waiter.resume() }
        held.removeAll()
    }

    /// Lets every held handler finish, and those to come pass.
    func release() {
        released = true
        for waiter in held { waiter.resume() }
        held.removeAll()
    }

    func runs(on node: String) -> [Run] { runs.filter { $0.node == node } }

    /// Handlers for `name` on node `node`: recorded, and held until released if `holding`.
    static func handlers(_ name: String, node: String, runs: Runs, holding: Bool) -> ServiceHandlers {
        var handlers = ServiceHandlers()
        handlers.register(name) { payload, context in
            await runs.record(node, context)
            if holding { await runs.hold() }
            return Array("\(node):".utf8) + payload
        }
        return handlers
    }
}
