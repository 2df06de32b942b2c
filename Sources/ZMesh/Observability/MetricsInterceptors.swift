public import Metrics
import MeshClock
import Synchronization

/// Times every call and stream a client makes, through swift-metrics: `rpc.client.duration`
/// (a timer: a histogram in seconds once exported), with dimensions `service`, `method` and
/// `outcome` (`ok` or a ``MeshError/Code`` name), and `rpc.client.active_requests` (calls and
/// streams in progress). A stream is timed from its start to its end, its outcome as
/// ``ClientStreamOutcome/code`` names it.
///
/// The names a client calls come from its own code, yet are bounded all the same: past
/// `maxNames` distinct service and method pairs, further ones are counted under `_other`.
///
/// ```swift
/// configuration.interceptors = [ClientMetricsInterceptor()]
/// ```
public struct ClientMetricsInterceptor: ClientInterceptor {
    private let timers: BoundedTimers
    private let active: Meter

    /// Counts under at most `maxNames` service and method pairs (default 256), through
    /// `factory` (by default the one bootstrapped in `MetricsSystem`).
    public init(maxNames: Int = 256, factory: any MetricsFactory = MetricsSystem.factory) {
        timers = BoundedTimers(label: "rpc.client.duration", maxNames: maxNames, factory: factory)
        active = Meter(label: "rpc.client.active_requests", dimensions: [], factory: factory)
    }

    public func intercept(
        _ request: MeshRequest,
        context: ClientCallContext,
        next: (MeshRequest, ClientCallContext) async throws(MeshError) -> MeshReply
    ) async throws(MeshError) -> MeshReply {
        let start = MonotonicTime.now()
        active.increment()
        defer { active.decrement() }
        do {
            let reply = try await next(request, context)
            timers.record(service: context.service, method: context.method, outcome: "ok", since: start)
            return reply
        } catch {
            timers.record(service: context.service, method: context.method, outcome: error.code.rawValue, since: start)
            throw error
        }
    }

    public func interceptStream(_ stream: inout ClientStreamStart, context: ClientCallContext) throws(MeshError) {
        let start = MonotonicTime.now()
        let timers = self.timers, active = self.active
        active.increment()
        stream.onEnd { outcome in
            active.decrement()
            timers.record(service: context.service, method: context.method, outcome: outcome.code, since: start)
        }
    }
}

/// Times every handler run of a service node, through swift-metrics: `rpc.server.duration`
/// (a timer: a histogram in seconds once exported) with dimensions `service`, `method` and
/// `outcome` (`ok`, `application_error`, or a status name such as `internal_error`), and
/// `rpc.server.active_requests` (handlers running). `method` is the registered handler's
/// name, never what a caller sent, so the labels are as many as the node's handlers.
///
/// ```swift
/// configuration.interceptors = [ServerMetricsInterceptor()]
/// ```
public struct ServerMetricsInterceptor: ServerInterceptor {
    private let timers: BoundedTimers
    private let active: Meter

    /// An interceptor through `factory` (by default the one bootstrapped in `MetricsSystem`);
    /// `maxNames` bounds its label sets should it be given more handlers.
    public init(maxNames: Int = 1_024, factory: any MetricsFactory = MetricsSystem.factory) {
        timers = BoundedTimers(label: "rpc.server.duration", maxNames: maxNames, factory: factory)
        active = Meter(label: "rpc.server.active_requests", dimensions: [], factory: factory)
    }

    public func intercept(
        _ request: MeshRequest,
        context: RequestContext,
        next: (MeshRequest, RequestContext) async throws -> MeshReply
    ) async throws -> MeshReply {
        let start = MonotonicTime.now()
        active.increment()
        defer { active.decrement() }
        let service = ServiceHandlers.serviceName(of: context.method), method = ServiceHandlers.methodName(of: context.method)
        do {
            let reply = try await next(request, context)
            timers.record(service: service, method: method, outcome: "ok", since: start)
            return reply
        } catch let error as ServiceError {
            timers.record(service: service, method: method, outcome: "application_error", since: start)
            throw error
        } catch let error as BadRequest {
            timers.record(service: service, method: method, outcome: "bad_request", since: start)
            throw error
        } catch is CancellationError {
            timers.record(service: service, method: method, outcome: "cancelled", since: start)
            throw CancellationError()
        } catch {
            timers.record(service: service, method: method, outcome: "internal_error", since: start)
            throw error
        }
    }
}

/// Timers by service, method and outcome, made once each and at most `maxNames` service and
/// method pairs (then `_other`), shared by every call through one interceptor.
final class BoundedTimers: Sendable {
    private struct Key: Hashable {
        let service: String
        let method: String
        let outcome: String
    }

    let label: String
    let maxNames: Int
    private let factory: any MetricsFactory
    private let state = Mutex<(timers: [Key: Timer], pairs: Set<[String]>)>(([:], []))

    init(label: String, maxNames: Int, factory: any MetricsFactory) {
        self.label = label
        self.maxNames = max(1, maxNames)
        self.factory = factory
    }

    func record(service: String, method: String, outcome: String, since start: MonotonicTime) {
        let elapsed = start.nanoseconds(until: MonotonicTime.now())
        timer(service: service, method: method, outcome: outcome).recordNanoseconds(elapsed)
    }

    func timer(service: String, method: String, outcome: String) -> Timer {
        state.withLock { state in
            var key = Key(service: service, method: method, outcome: outcome)
            if let timer = state.timers[key] { return timer }
            let pair = [service, method]
            if !state.pairs.contains(pair) {
                if state.pairs.count >= maxNames {
                    key = Key(service: OutcomeCounters.otherName, method: OutcomeCounters.otherName, outcome: outcome)
                    if let timer = state.timers[key] { return timer }
                } else {
                    state.pairs.insert(pair)
                }
            }
            let timer = Timer(label: label, dimensions: [("service", key.service), ("method", key.method), ("outcome", key.outcome)],
                              factory: factory)
            state.timers[key] = timer
            return timer
        }
    }

    /// Label sets made so far (tests: never more than `maxNames + ` the outcomes of `_other`).
    var count: Int { state.withLock { $0.timers.count } }
}
