import MeshClock

/// Majordomo (MDP/0.2) workers as instances: registered at READY with capacity 1, heard from
/// on every command, heartbeated and expired (RFC 18), dropped when they freeze.
extension BrokerRouter {
    /// The worker with this routing id.
    func worker(routingID: [UInt8]) -> String? { instances.worker(routingID: routingID) }
    /// The worker whose connection has this descriptor.
    func worker(descriptor: Int32) -> String? { instances.worker(descriptor: descriptor) }
    /// How many workers are registered.
    var workerCount: Int { instances.workerCount }
    /// Every worker's routing id.
    var workerRoutingIDs: [[UInt8]] { instances.all.filter { $0.kind == .worker }.map(\.routingID) }

    /// The workers' services, their load and number, as the registries are told.
    func workerSummary() -> WorkerSummary {
        let workers = instances.all.filter { $0.kind == .worker }
        return WorkerSummary(services: Set(workers.flatMap(\.services)).sorted(),
                             load: workers.map(\.outstanding).reduce(0, +), count: workers.count)
    }

    /// A worker sent something: any command acts as a heartbeat.
    mutating func heard(fromWorker id: String, now: MonotonicTime) { instances.heard(from: id, at: now) }

    /// A READY the shell accepted: the worker is an instance of `name`'s service, ready, with
    /// room for one request, and takes a waiting one at once.
    @discardableResult
    mutating func registerWorker(_ routingID: [UInt8], service name: String, descriptor: Int32?, now: MonotonicTime,
                                 output: inout some BrokerRouterOutput) -> String {
        let id = "mdp-\(configuration.name)-\(routingID.hexString)"
        var instance = Instance(id: id, routingID: routingID, endpoint: configuration.workers ?? "",
                                services: [ServiceHandlers.serviceName(of: name)], capacity: 1, kind: .worker, since: now)
        instance.ready = true
        instance.descriptor = descriptor
        instances.insert(instance)
        instances.rebuildServiceIndex()
        logger.info("Majordomo worker ready", metadata: ["zmesh.worker": "\(id)", "zmesh.service": "\(name)"])
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
    /// DISCONNECT to workers silent for liveness x interval, which are forgotten.
    mutating func tickWorkers(now: MonotonicTime, output: inout some BrokerRouterOutput) {
        let interval = configuration.heartbeat.interval
        var expired: [String] = []
        for instance in instances.all where instance.kind == .worker {
            if instance.lastHeard.advanced(by: configuration.heartbeat.expiry) <= now {
                expired.append(instance.id)
            } else if instance.lastSent.advanced(by: interval) <= now {
                output.tell(worker: instance.routingID, .heartbeat)
                instances.sent(to: instance.id, at: now)
            }
        }
        for id in expired.sorted() {
            logger.warning("Majordomo worker silent: expired", metadata: ["zmesh.worker": "\(id)"])
            if let routingID = instances[id]?.routingID { output.tell(worker: routingID, .disconnect) }
            remove(id, reason: "no heartbeat for \(configuration.heartbeat.liveness) intervals", now: now, output: &output)
        }
        if !expired.isEmpty { instances.rebuildServiceIndex() }
    }

    /// A worker that held a request well past its deadline: DISCONNECT, so it starts again
    /// with a new READY, and no more work for this connection.
    mutating func dropFrozenWorker(_ id: String, now: MonotonicTime, output: inout some BrokerRouterOutput) {
        guard let instance = instances[id], instance.kind == .worker else { return }
        logger.warning("Majordomo worker did not answer by the deadline: disconnecting it", metadata: ["zmesh.worker": "\(id)"])
        output.tell(worker: instance.routingID, .disconnect)
        removeWorker(id, reason: "it held a request past its deadline", now: now, output: &output)
        output.workersChanged(workerSummary())
    }
}
