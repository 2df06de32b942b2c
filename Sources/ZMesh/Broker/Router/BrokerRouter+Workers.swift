import MeshClock

/// Majordomo workers (every dialect) as instances: registered at READY with capacity 1, heard
/// from on every command, heartbeated and expired (RFC 7, RFC 18), dropped when they freeze.
extension BrokerRouter {
    /// The worker with this routing id.
    func worker(routingID: [UInt8]) -> String? { instances.worker(routingID: routingID) }
    /// The worker whose connection has this descriptor.
    func worker(descriptor: Int32) -> String? { instances.worker(descriptor: descriptor) }
    /// How many workers are registered.
    var workerCount: Int { instances.workerCount }
    /// Every worker's routing id and dialect.
    var workerAddresses: [(routingID: [UInt8], dialect: MDP.Dialect)] {
        instances.all.filter { $0.kind == .worker }.map { ($0.routingID, $0.dialect) }
    }
    /// The dialect a worker registered in.
    func workerDialect(_ id: String) -> MDP.Dialect? { instances[id]?.dialect }

    /// The workers' services, their load and number, as the registries are told.
    func workerSummary() -> WorkerSummary {
        let workers = instances.all.filter { $0.kind == .worker }
        return WorkerSummary(services: Set(workers.flatMap(\.services)).sorted(),
                             load: workers.map(\.outstanding).reduce(0, +), count: workers.count)
    }

    /// A worker sent something: any command acts as a heartbeat.
    mutating func heard(fromWorker id: String, now: MonotonicTime) { instances.heard(from: id, at: now) }

    /// A READY the shell accepted: the worker is an instance of `name`'s service, ready, with
    /// room for one request, and takes a waiting one at once. It is spoken to in `dialect`.
    @discardableResult
    mutating func registerWorker(_ routingID: [UInt8], service name: String, dialect: MDP.Dialect, descriptor: Int32?,
                                 now: MonotonicTime, output: inout some BrokerRouterOutput) -> String {
        let id = "mdp-\(configuration.name)-\(routingID.hexString)"
        var instance = Instance(id: id, routingID: routingID, endpoint: configuration.workers ?? "",
                                services: [ServiceHandlers.serviceName(of: name)], capacity: 1, kind: .worker, since: now)
        instance.ready = true
        instance.descriptor = descriptor
        instance.dialect = dialect
        instances.insert(instance)
        instances.rebuildServiceIndex()
        logger.info("Majordomo worker ready",
                    metadata: ["zmesh.worker": "\(id)", "zmesh.service": "\(name)", "zmesh.dialect": "\(dialect)"])
        output.workersChanged(workerSummary())
        dispatchQueued(for: instance.services, now: now, output: &output)
        return id
    }

    /// A PARTIAL or FINAL from `worker` for a request whose caller cancelled it: dropped, and
    /// a FINAL frees the worker for the next request. False if `key` is no such request of
    /// that worker's (the shell then treats the answer as it would any other).
    mutating func abandonedAnswer(_ key: RequestID, from worker: String, final: Bool, now: MonotonicTime,
                                  output: inout some BrokerRouterOutput) -> Bool {
        guard let entry = abandoned[key], entry.worker == worker else { return false }
        guard final else { return true }
        abandoned[key] = nil
        instances.addOutstanding(worker, -1)
        if let instance = instances[worker] { dispatchQueued(for: instance.services, now: now, output: &output) }
        return true
    }

    /// Forgets a worker (its request, if any, goes to another).
    mutating func removeWorker(_ id: String, reason: String, now: MonotonicTime, output: inout some BrokerRouterOutput) {
        remove(id, reason: reason, now: now, output: &output)
        instances.rebuildServiceIndex()
    }

    /// Every heartbeat interval: HEARTBEAT to workers the broker has sent nothing lately, and
    /// DISCONNECT to workers silent for liveness x interval, which are forgotten. A worker of a
    /// dialect whose workers do not heartbeat while they run a request (MDP/0.1, majortomo) is
    /// not expired while it holds one: its connection closing, or the request's deadline and
    /// grace (``sweep(now:output:)``), ends it instead.
    mutating func tickWorkers(now: MonotonicTime, output: inout some BrokerRouterOutput) {
        let interval = configuration.heartbeat.interval
        var expired: [String] = []
        for instance in instances.all where instance.kind == .worker {
            let silent = instance.lastHeard.advanced(by: configuration.heartbeat.expiry) <= now
            if silent && (instance.outstanding == 0 || instance.dialect.heartbeatsWhileBusy) {
                expired.append(instance.id)
            } else if instance.lastSent.advanced(by: interval) <= now {
                output.tell(worker: instance.routingID, dialect: instance.dialect, .heartbeat)
                instances.sent(to: instance.id, at: now)
            }
        }
        for id in expired.sorted() {
            logger.warning("Majordomo worker silent: expired", metadata: ["zmesh.worker": "\(id)"])
            if let instance = instances[id] { output.tell(worker: instance.routingID, dialect: instance.dialect, .disconnect) }
            remove(id, reason: "no heartbeat for \(configuration.heartbeat.liveness) intervals", now: now, output: &output)
        }
        if !expired.isEmpty { instances.rebuildServiceIndex() }
    }

    /// A worker that held a request well past its deadline: DISCONNECT, so it starts again
    /// with a new READY, and no more work for this connection.
    mutating func dropFrozenWorker(_ id: String, now: MonotonicTime, output: inout some BrokerRouterOutput) {
        guard let instance = instances[id], instance.kind == .worker else { return }
        logger.warning("Majordomo worker did not answer by the deadline: disconnecting it", metadata: ["zmesh.worker": "\(id)"])
        output.tell(worker: instance.routingID, dialect: instance.dialect, .disconnect)
        removeWorker(id, reason: "it held a request past its deadline", now: now, output: &output)
        output.workersChanged(workerSummary())
    }
}
