
/// The call table's connections: opening and closing them, and what their events mean for
/// the calls on them (a lost connection's idempotent calls are re-sent elsewhere with the
/// same request id; the others end `unavailable`, as they may have run).
extension CallTable {
    /// Opens the configured connections, once.
    mutating func startIfNeeded(output: inout some CallOutput<Link>) {
        guard !started, !closed else { return }
        started = true
        switch configuration.discovery {
        case .endpoints(let endpoints), .brokers(let endpoints):
            for endpoint in endpoints {
                if let connection = openConnection(to: endpoint, output: &output) { staticList.append(connection) }
            }
        case .registries(let registries):
            for registry in registries {
                if let connection = openConnection(to: registry.endpoint, output: &output) { staticList.append(connection) }
            }
        case .directory:
            break
        }
    }

    mutating func openConnection(to endpoint: String, output: inout some CallOutput<Link>) -> Connection<Link>? {
        let id = ConnectionID(raw: nextConnectionID)
        nextConnectionID += 1
        guard let link = output.connect(id, to: endpoint) else { return nil }
        let connection = Connection(id: id, endpoint: endpoint, link: link)
        connections[id] = connection
        return connection
    }

    mutating func closeConnection(_ connection: Connection<Link>, output: inout some CallOutput<Link>) {
        output.close(connection.link)
        connections[connection.id] = nil
        if instanceConnections[connection.endpoint] == connection.id { instanceConnections[connection.endpoint] = nil }
    }

    /// A connection finished its handshake.
    mutating func connectionUp(_ id: ConnectionID, output: inout some CallOutput<Link>) {
        guard let connection = connections[id], connection.state != .up else { return }
        connection.state = .up
        logger.debug("connection up", metadata: ["zmesh.endpoint": "\(connection.endpoint)"])
        dispatchParked(output: &output)
    }

    /// A connection was lost, or refused (`refusal` says why: a CURVE handshake failure).
    mutating func connectionDown(_ id: ConnectionID, refusal: String?, event: String, output: inout some CallOutput<Link>) {
        guard let connection = connections[id] else { return }
        if let refusal {
            connection.refusal = refusal
            logger.warning("refused by a peer", metadata: ["zmesh.endpoint": "\(connection.endpoint)"])
        }
        guard connection.state != .down else { return }
        let wasUp = connection.state == .up
        connection.state = .down
        if wasUp {
            logger.warning("connection lost; failing over its calls", metadata: [
                "zmesh.endpoint": "\(connection.endpoint)", "zmesh.in_flight": "\(connection.outstanding)", "zmesh.event": "\(event)",
            ])
        }
        connectionLost(connection, output: &output)
    }

    /// A restarted instance is announced while its old connection waits out libzmq's
    /// reconnect back-off (up to a second): connect again at once, so calls wait for it
    /// (the connection is `connecting`) rather than fail as unreachable meanwhile.
    mutating func reconnectNow(_ connection: Connection<Link>, output: inout some CallOutput<Link>) {
        guard output.reconnect(connection.link, to: connection.endpoint) else { return }
        connection.state = .connecting
        connection.refusal = nil
        logger.debug("a new instance is announced: reconnecting now", metadata: ["zmesh.endpoint": "\(connection.endpoint)"])
    }

    /// Every call in flight on a lost connection is re-sent elsewhere (idempotent) or failed.
    mutating func connectionLost(_ connection: Connection<Link>, output: inout some CallOutput<Link>) {
        output.discardOutbound(connection.link)
        connection.outstanding = 0
        let affected = pending.entries.filter { $0.value.connection == connection.id }.map(\.key).sorted()
        for seq in affected {
            guard let call = pending[seq] else { continue }
            call.connection = nil
            call.failedOn.append(connection.id)
            call.lastError = "the connection to \(connection.endpoint) was lost"
            if call.delivered > 0 {
                fail(seq, MeshError(.unavailable, service: call.name,
                                    message: "the connection to \(connection.endpoint) was lost after \(call.delivered) messages of the stream; a stream that has delivered messages is not re-sent",
                                    mayHaveRun: true), output: &output)
            } else if call.sentParts > 0 {
                fail(seq, MeshError(.unavailable, service: call.name,
                                    message: "the connection to \(connection.endpoint) was lost after \(call.sentParts) messages of the request stream were sent; such a stream is not re-sent",
                                    mayHaveRun: true), output: &output)
            } else if call.idempotent {
                stats.retries += 1
                dispatch(seq, output: &output)
            } else {
                fail(seq, MeshError(.unavailable, service: call.name,
                                    message: "the connection to \(connection.endpoint) was lost while the call was in flight; it is not idempotent so it was not re-sent",
                                    mayHaveRun: true), output: &output)
            }
        }
        // Parked calls may now have nowhere to go: fail fast rather than at the deadline.
        dispatchParked(output: &output)
    }
}
