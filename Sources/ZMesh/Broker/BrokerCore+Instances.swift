import MeshClock

/// The back end: answers from instances, forwarded to clients straight from libzmq's
/// buffers; its connections to instances, made and watched.
extension BrokerCore {
    /// A reply or error from an instance: `[instance] [client route...] [] [header] [body...]`.
    /// Forwarded to the client straight from libzmq's buffers: header and body pass through.
    func fromService(_ frames: Transport.Socket.Received) {
        // Find the delimiter and decode only the header; the rest is forwarded as it is.
        var delimiter = -1
        for index in 0..<min(frames.frameCount, limits.maxHops + 1) where frames.frameSize(index) == 0 {
            delimiter = index
            break
        }
        guard delimiter >= 2, delimiter + 1 < frames.frameCount, frames.frameCount <= delimiter + 2 + limits.maxBodyFrames else {
            drop(delimiter < 0 ? .missingDelimiter : .unexpectedCommand, peer: frames.frameCount > 0 ? frames.frameArray(0) : [])
            return
        }
        let decoded = frames.withFrameBytes(delimiter + 1) { Header.decode($0) }
        guard case .success(let header) = decoded else {
            if case .failure(let reason) = decoded { drop(reason, peer: frames.frameArray(0)) }
            return
        }
        guard header.command == .reply || header.command == .error || header.command == .credit else {
            drop(.unexpectedCommand, peer: frames.frameArray(0))
            return
        }
        let key = header.requestID
        guard let flight = router.flight(key), flight.route.count == delimiter - 1,
              (0..<(delimiter - 1)).allSatisfy({ hop in frames.withFrameBytes(hop + 1) { $0.elementsEqual(flight.route[hop]) } }),
              let instanceID = flight.instance, frames.withFrameBytes(0, { $0.elementsEqual(instanceID.utf8) }) else {
            router.stats.dropped += 1
            return
        }
        var output = Output(core: self)
        if header.command == .credit {
            router.requestCredit(header, of: flight, output: &output)
            carryOut(output)
            return
        }
        if header.command == .reply && header.flags.contains(.partial) {
            // A part of a Majordomo worker's answer, from the broker it is on: passed on as a
            // PARTIAL; the flight stays until the last part.
            let body = ((delimiter + 2)..<frames.frameCount).map { frames.frameArray($0) }
            router.partialAnswer(body, of: key, flight, relaysToBrokers: false, batch: header.flags.contains(.batch), output: &output)
            carryOut(output)
            return
        }
        let now = transport.now()
        let refused = header.command == .error && header.flags.contains(.retryElsewhere)
        if router.instanceAnswered(key, flight, by: instanceID, refusedRetryElsewhere: refused, now: now, output: &output) {
            if !hopSpans.isEmpty { endHop(header) }
            if !forward(frames, delimiter: delimiter, header: header, of: flight, output: &output) { router.stats.dropped += 1 }
        }
        router.placeFreed(at: instanceID, now: now, output: &output)
        carryOut(output)
    }

    /// Sends an instance's answer on to the client: an MDP client gets a FINAL; anyone else the
    /// header and body as they came, straight from the received frames when there is one body
    /// frame (the usual case). False if the client is gone.
    private func forward(_ frames: Transport.Socket.Received, delimiter: Int, header: Header, of flight: BrokerRouter.Flight,
                         output: inout Output) -> Bool {
        if let caller = flight.majordomo, flight.route.count == 1 {
            // An MDP client's request, answered by a mesh service: FINAL (MDP/0.1: REPLY), after
            // any parts of a streaming handler the client could not take one by one.
            let body = flight.partials + ((delimiter + 2)..<frames.frameCount).map { frames.frameArray($0) }
            return output.replyMajordomo(.final, to: flight.route, caller: caller,
                                         status: header.command == .error ? header.status : nil,
                                         body: header.command == .error ? body : (body.isEmpty ? [[]] : body))
        }
        let result: SendOutcome?
        if !flight.partials.isEmpty {
            // Parts came first (only from a broker that was asked for them): one reply.
            let forward = flight.route + [frames.frameArray(delimiter), frames.frameArray(delimiter + 1)] + flight.partials
                + ((delimiter + 2)..<frames.frameCount).map { frames.frameArray($0) }
            result = frontend?.assumeIsolated { $0.transmit(forward) }
        } else if frames.frameCount == delimiter + 3, let frontend = output.frontend {
            // One body frame (the usual case): header and body straight from the view.
            let route = flight.route
            result = frames.withFrameBytes(delimiter + 1) { header in
                frames.withFrameBytes(delimiter + 2) { body in
                    frontend.with { frontend in
                        frontend.assumeIsolated(passing: (route, header, body)) { socket, parts in
                            socket.transmit(routing: parts.0, header: parts.1, bodyBytes: parts.2)
                        }
                    }
                }
            }
        } else {
            let forward = (1..<frames.frameCount).map { frames.frameArray($0) }
            result = frontend?.assumeIsolated { $0.transmit(forward) }
        }
        return result?.accepted ?? false
    }

    /// The back end's monitor: a connection to an instance came up, went down, or failed.
    func backendEvent(_ event: PeerEvent) {
        if event.isDown {
            // Replies that arrived before the instance went (a draining node's last ones) are
            // forwarded first; only then is what it still holds sent elsewhere.
            backend?.assumeIsolated { $0.receivePending() }
        }
        var output = Output(core: self)
        if event.kind == .connected {
            router.connected(endpoint: event.endpoint, now: transport.now(), output: &output)
        } else {
            router.disconnected(endpoint: event.endpoint, now: transport.now(), output: &output)
        }
        carryOut(output)
    }

    /// Connects the back end to an instance, addressed by its instance id. An instance the
    /// broker cannot connect to (a bad endpoint, no CURVE key for it) is logged once.
    func connectInstance(_ id: String, endpoint: String, routingID: [UInt8]) -> Bool {
        guard let backend else { return false }
        do {
            try backend.assumeIsolated { try $0.connect(endpoint, peerID: routingID) }
            return true
        } catch {
            // Once per instance: the registry lists it again at every look-up.
            if unreachableLogged.count > 1_000 { unreachableLogged.removeAll() }
            if unreachableLogged.insert(id).inserted {
                logger.warning("cannot connect to an instance; skipping it", metadata: [
                    "zmesh.instance": "\(id)", "zmesh.endpoint": "\(endpoint)", "zmesh.error": "\(error)",
                ])
            }
            return false
        }
    }
}
