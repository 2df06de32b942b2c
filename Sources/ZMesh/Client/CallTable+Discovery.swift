/// Registry discovery in the call table: look-ups (asked of the shell's resolver through
/// ``CallOutput/lookUp(_:)``), the answers and change events, the "an incomplete answer only adds" rule, and the bounds on
/// what is kept (issue 10).
extension CallTable {
    /// What registries said of one service, as a client keeps it.
    struct Resolution {
        /// Endpoints of the live instances; nil until a registry has answered.
        var endpoints: [String]?
        /// Their connections (the candidates for calls).
        var connections: [Connection<Link>] = []
        var lookupInFlight = false
        /// Why the last look-up failed, for error messages.
        var lastFailure: String?
        /// The last look-up was refused (CURVE): calls fail `forbidden`, not `unavailable`.
        var refused = false
        /// When it entered the table (a counter): the longest held goes first when it is full.
        var admitted: UInt64 = 0
    }

    /// The service name registries answer under (`mesh.lookup`, `mesh.status`).
    static var registryService: String { "mesh" }

    /// The connections that can take a call for `service`; nil while the name is being resolved.
    mutating func candidates(for service: String, output: inout some CallOutput<Link>) -> [Connection<Link>]? {
        switch configuration.discovery {
        case .endpoints, .brokers:
            return staticList
        case .registries, .directory:
            if service == Self.registryService { return staticList }
            guard let resolution = resolutions[service], resolution.endpoints != nil else {
                lookUp(service, output: &output)
                return nil
            }
            return resolution.connections
        }
    }

    func noInstanceMessage(_ service: String) -> String {
        if service == Self.registryService { return "no registry is configured" }
        if let failure = resolutions[service]?.lastFailure { return "no live instance of \(service) is known: \(failure)" }
        return "no live instance of \(service) is registered"
    }

    /// Asks the shell's resolver for `service`'s instances, unless a look-up is already out;
    /// the answer comes back through ``lookupFinished(_:_:output:)``.
    mutating func lookUp(_ service: String, output: inout some CallOutput<Link>) {
        guard resolutions[service]?.lookupInFlight != true else { return }
        if resolutions[service] == nil { admitResolution(service, output: &output) }
        resolutions[service, default: Resolution()].lookupInFlight = true
        output.lookUp(service)
    }

    /// The resolver's answer to a look-up of `service`, or why it has none.
    mutating func lookupFinished(_ service: String, _ result: Result<LookupReply, MeshError>, output: inout some CallOutput<Link>) {
        // Gone if the client was closed meanwhile: nothing to keep.
        guard resolutions[service] != nil else { return }
        resolutions[service]?.lookupInFlight = false
        switch result {
        case .success(let answer):
            apply(service, answer.instances, complete: answer.complete, output: &output)
        case .failure(let error):
            resolutions[service]?.refused = error.code == .forbidden
            lookupFailed(service, error.code == .forbidden ? "the registries refused this client (\(error.message))"
                                                           : "no registry answered (\(error.message))", output: &output)
        }
    }

    private mutating func lookupFailed(_ service: String, _ why: String, output: inout some CallOutput<Link>) {
        resolutions[service]?.lastFailure = why
        if resolutions[service]?.endpoints == nil {
            // Never resolved: fail its parked calls now rather than at their deadline.
            resolutions[service]?.endpoints = []
            resolutions[service]?.connections = []
            dispatchParked(output: &output)
            resolutions[service]?.endpoints = nil
        } else {
            logger.debug("look-up failed; keeping the last answer", metadata: ["zmesh.service": "\(service)", "zmesh.reason": "\(why)"])
            // Calls that waited for this answer decide on the last one.
            dispatchParked(output: &output)
        }
    }

    /// A registry's change event for `service` (only for services this client calls).
    mutating func changeEvent(_ service: String, _ answer: LookupReply, output: inout some CallOutput<Link>) {
        guard resolutions[service] != nil else { return }   // not a service this client calls (or it forgot)
        apply(service, answer.instances, complete: answer.complete, output: &output)
    }

    /// Takes a registry's answer. An incomplete one (a registry that just started) can only
    /// add instances: it may not have heard the others yet (``ResolverAnswer/merge(held:listed:complete:)``).
    mutating func apply(_ service: String, _ instances: [InstanceInfo], complete: Bool, output: inout some CallOutput<Link>) {
        let live = instances.filter { $0.isLive(hosting: service) }
        let announced = Dictionary(live.map { ($0.endpoint, $0.instance) }, uniquingKeysWith: { _, last in last })
        let old = resolutions[service]?.endpoints
        var endpoints = ResolverAnswer.merge(held: old ?? [], listed: live.map(\.endpoint), complete: complete)
        endpoints.sort()
        resolutions[service]?.endpoints = endpoints
        var chosen: [Connection<Link>] = []
        for endpoint in endpoints {
            if let id = instanceConnections[endpoint], let connection = connections[id] {
                if let instance = announced[endpoint] {
                    let isNew = old?.contains(endpoint) != true || (connection.instance.map { $0 != instance } ?? false)
                    connection.instance = instance
                    if isNew && connection.state == .down { reconnectNow(connection, output: &output) }
                }
                chosen.append(connection)
                continue
            }
            guard instanceConnections.count < configuration.maxInstanceConnections else {
                if !connectionLimitLogged {
                    connectionLimitLogged = true
                    logger.warning("instance connection limit reached: skipping instances until others go away", metadata: [
                        "zmesh.service": "\(service)", "zmesh.endpoint": "\(endpoint)",
                        "zmesh.max_instance_connections": "\(configuration.maxInstanceConnections)",
                    ])
                }
                continue
            }
            guard let connection = openConnection(to: endpoint, output: &output) else { continue }
            connection.instance = announced[endpoint]
            instanceConnections[endpoint] = connection.id
            chosen.append(connection)
        }
        resolutions[service]?.connections = chosen
        resolutions[service]?.lastFailure = nil
        resolutions[service]?.refused = false
        if old != endpoints {
            logger.debug("instances changed", metadata: ["zmesh.service": "\(service)", "zmesh.endpoints": "\(endpoints.joined(separator: ","))"])
            pruneConnections(output: &output)
        }
        dispatchParked(output: &output)
    }

    /// Re-asks registries about every known service: the safety net under change events.
    mutating func refresh(output: inout some CallOutput<Link>) {
        forgetEmptyAnswers()
        for service in resolutions.keys.sorted() { lookUp(service, output: &output) }
        pruneConnections(output: &output)
    }

    /// Makes room for `service`'s answer: the table is bounded by `maxKnownServices`, since
    /// callers choose the names. Answers with no live instance go first, then the longest held;
    /// one being looked up stays (its calls wait for it).
    private mutating func admitResolution(_ service: String, output: inout some CallOutput<Link>) {
        if resolutions.count >= configuration.maxKnownServices {
            forgetEmptyAnswers()
        }
        if resolutions.count >= configuration.maxKnownServices,
           let oldest = resolutions.filter({ !$0.value.lookupInFlight }).min(by: { $0.value.admitted < $1.value.admitted })?.key {
            resolutions[oldest] = nil
            pruneConnections(output: &output)
        }
        resolutionsAdmitted += 1
        resolutions[service] = Resolution(admitted: resolutionsAdmitted)
    }

    /// Drops every answer that listed no live instance, and every failed look-up, unless it is
    /// being asked again: a call to such a name looks it up anew, so made-up names leave
    /// nothing behind.
    private mutating func forgetEmptyAnswers() {
        resolutions = resolutions.filter { _, resolution in
            resolution.lookupInFlight || !(resolution.endpoints ?? []).isEmpty
        }
    }

    /// Closes instance connections no service lists any more, once nothing is in flight on them.
    mutating func pruneConnections(output: inout some CallOutput<Link>) {
        let wanted = Set(resolutions.values.compactMap(\.endpoints).joined())
        for (endpoint, id) in instanceConnections where !wanted.contains(endpoint) {
            guard let connection = connections[id], connection.outstanding == 0 else { continue }
            closeConnection(connection, output: &output)
        }
    }

    /// Endpoint -> whether its connection is up.
    func connectionStates() -> [String: Bool] {
        Dictionary(connections.allValues.map { ($0.endpoint, $0.state == .up) }, uniquingKeysWith: { $0 || $1 })
    }

    /// Live endpoints the client knows for `service`, nil if not resolved yet.
    func knownEndpoints(of service: String) -> [String]? {
        resolutions[service]?.endpoints
    }
}
