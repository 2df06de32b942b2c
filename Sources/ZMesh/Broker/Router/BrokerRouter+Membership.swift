import MeshClock

/// Which instances the broker routes to: the registries' answers, and the back end's
/// connections to them coming up and going down.
extension BrokerRouter {
    /// A registry's answer to `mesh.lookup`: makes the instance table match its live
    /// instances. An incomplete answer (from a registry that just started) only adds: it may
    /// not have heard the others yet. A complete one also removes what it does not list
    /// (workers excepted: they are this broker's own). The rule is
    /// ``ResolverAnswer/merge(held:listed:complete:)``, the client's too.
    mutating func apply(_ live: [InstanceInfo], complete: Bool, now: MonotonicTime, output: inout some BrokerRouterOutput) {
        // Not this broker's own announcement of its workers.
        let live = live.filter { !($0.role == "broker" && $0.node == configuration.name) }
        let kept = Set(ResolverAnswer.merge(held: instances.ids, listed: live.map(\.instance), complete: complete))
        for id in instances.ids.sorted() where !kept.contains(id) && instances[id]?.kind != .worker {
            remove(id, reason: "no longer live in the registry", now: now, output: &output)
        }
        for info in live.sorted(by: { $0.instance < $1.instance }) {
            if instances[info.instance] != nil {
                instances.update(info.instance, services: info.services, capacity: info.capacity)
                continue
            }
            if let previous = instances.id(at: info.endpoint) {
                remove(previous, reason: "replaced at its endpoint", now: now, output: &output)
            }
            add(info, now: now, output: &output)
        }
        instances.rebuildServiceIndex()
        let firstAnswer = !resolved
        resolved = true
        if firstAnswer {
            logger.info("learned the mesh from a registry", metadata: ["zmesh.instances": "\(instances.count)"])
        }
        dispatchQueued(for: flights.queuedServices, now: now, output: &output)
    }

    /// Connects to an instance a registry listed; one the shell cannot connect to is skipped
    /// (and listed again at the next answer).
    private mutating func add(_ info: InstanceInfo, now: MonotonicTime, output: inout some BrokerRouterOutput) {
        let routingID = Array(info.instance.utf8)
        guard output.connect(instance: info.instance, endpoint: info.endpoint, routingID: routingID) else { return }
        instances.insert(Instance(id: info.instance, routingID: routingID, endpoint: info.endpoint, services: info.services,
                                  capacity: info.capacity, kind: info.role == "broker" ? .broker : .service, since: now))
        logger.info("instance added", metadata: ["zmesh.instance": "\(info.instance)", "zmesh.endpoint": "\(info.endpoint)"])
    }

    /// Forgets an instance (disconnecting from it, unless a worker) and re-dispatches what it
    /// held. The service index drops it; callers rebuild the index when done.
    mutating func remove(_ id: String, reason: String, now: MonotonicTime, output: inout some BrokerRouterOutput) {
        guard let instance = instances.remove(id) else { return }
        if instance.kind != .worker { output.disconnect(from: instance.endpoint) }
        if instance.kind == .worker, !abandoned.isEmpty { abandoned = abandoned.filter { $0.value.worker != id } }
        logger.info("instance removed", metadata: ["zmesh.instance": "\(id)", "zmesh.reason": "\(reason)"])
        instances.dropFromServiceIndex(id)
        failOver(from: id, now: now, output: &output)
    }

    /// The back end's connection to the instance at `endpoint` finished its handshake: it is
    /// ready, and takes waiting requests.
    mutating func connected(endpoint: String, now: MonotonicTime, output: inout some BrokerRouterOutput) {
        guard let id = instances.id(at: endpoint), let instance = instances[id], !instance.ready else { return }
        instances.setReady(id, true)
        logger.debug("instance connected", metadata: ["zmesh.instance": "\(id)", "zmesh.endpoint": "\(endpoint)"])
        dispatchQueued(for: instance.services, now: now, output: &output)
    }

    /// The back end's connection to the instance at `endpoint` closed or failed to connect:
    /// not ready, and what it held goes elsewhere (or fails, if not idempotent).
    mutating func disconnected(endpoint: String, now: MonotonicTime, output: inout some BrokerRouterOutput) {
        guard let id = instances.id(at: endpoint), let instance = instances[id] else { return }
        instances.setReady(id, false)
        if instance.ready {
            logger.warning("lost the connection to an instance; re-dispatching its requests", metadata: [
                "zmesh.instance": "\(id)", "zmesh.in_flight": "\(instance.outstanding)",
            ])
        }
        failOver(from: id, now: now, output: &output)
    }
}
