import Foundation

/// The front end: native requests and cancels from clients (and other brokers), Majordomo
/// client requests in every dialect, and the names the broker answers itself (`mesh.ping`,
/// `mesh.broker`, MMI).
extension BrokerCore {
    /// Anything a client sends the front end: `[client] [] [header] [body...]`, or MDP.
    func fromClient(_ frames: Transport.Socket.Received) {
        // Majordomo clients share the front end: after the routing id comes "MDPC02" (RFC 18),
        // or the empty delimiter and "MDPC01" (RFC 7) or "MDPC02" (majortomo), where a native
        // message has the empty delimiter and a header starting "ZM".
        if MDP.isClientMessage(frames) {
            majordomoClientRequest(frames)
            return
        }
        let envelope: Envelope
        do {
            envelope = try Envelope.decode(frames, routed: true, limits: clientLimits)
        } catch let reason {
            drop(reason, peer: frames.frameCount > 0 ? frames.frameArray(0) : [])
            return
        }
        switch envelope.header.command {
        case .request:
            let header = envelope.header
            if header.name.hasPrefix("mesh.") || header.name.hasPrefix(MDP.managementPrefix) {
                router.stats.requests += 1
                answerLocally(envelope.routing, header: header, body: envelope.body)
                return
            }
            var output = Output(core: self)
            router.request(configuration.tracer == nil ? header : traceHop(header), body: envelope.body, from: envelope.routing,
                           now: transport.now(), output: &output)
            carryOut(output)
        case .credit:
            var output = Output(core: self)
            router.credit(envelope.header, from: envelope.routing, now: transport.now(), output: &output)
            carryOut(output)
        case .part:
            var output = Output(core: self)
            router.part(envelope.header, body: envelope.body, from: envelope.routing, now: transport.now(), output: &output)
            carryOut(output)
        case .cancel:
            if !hopSpans.isEmpty { endHop(envelope.header.requestID, outcome: "cancelled") }
            var output = Output(core: self)
            router.cancel(envelope.header, from: envelope.routing, now: transport.now(), output: &output)
            carryOut(output)
        default:
            drop(.unexpectedCommand, peer: envelope.routing.first ?? [])
        }
    }

    /// A Majordomo client's REQUEST in any dialect (``MDP/clientRequest(_:)``): MMI is answered
    /// here; anything else becomes a flight of the router's, answered in the client's dialect.
    /// One that fits no dialect (too few frames, a command other than REQUEST, a service name
    /// that is not printable) is dropped and counted.
    private func majordomoClientRequest(_ frames: Transport.Socket.Received) {
        let route = [frames.frameArray(0)]
        let request: MDP.ClientRequest
        switch MDP.clientRequest(frames) {
        case .success(let decoded): request = decoded
        case .failure(let reason): return drop(reason, peer: route[0])
        }
        guard frames.frameCount - request.bodyStart <= limits.maxBodyFrames else { return drop(.tooManyFrames, peer: route[0]) }
        let body = (request.bodyStart..<frames.frameCount).map { frames.frameArray($0) }
        let caller = MDP.Caller(service: request.service, dialect: request.dialect)
        if request.service.hasPrefix(MDP.managementPrefix) {
            router.stats.requests += 1
            sendClient(route, MDP.clientMessage(.final, service: request.service, body: [management(request.service, body)],
                                                dialect: request.dialect))
            router.stats.replies += 1
            return
        }
        var output = Output(core: self)
        router.majordomoRequest(caller, body: body, from: route, now: transport.now(), output: &output)
        carryOut(output)
    }

    /// The names the broker answers itself: `mesh.ping`, `mesh.broker` (its stats), and MMI.
    private func answerLocally(_ route: [[UInt8]], header: Header, body: [[UInt8]]) {
        var output = Output(core: self)
        let answer: (command: Command, status: UInt16, body: [UInt8])
        if header.name.hasPrefix(MDP.managementPrefix) {
            answer = (.reply, 0, management(header.name, body))
        } else {
            switch header.name {
            case "mesh.ping":
                answer = (.reply, 0, Array("pong".utf8))
            case "mesh.broker":
                answer = (.reply, 0, (try? Array(JSONEncoder().encode(snapshot()))) ?? [])
            case NodeHealth.name:
                let stats = router.snapshot()
                let health = NodeHealth(status: router.accepting ? .live : .draining, role: Self.role, node: configuration.name,
                                        load: stats.inFlight + stats.queued,
                                        uptimeSeconds: NodeHealth.seconds(from: startedAt, to: transport.now()))
                answer = (.reply, 0, health.encoded)
            case NodeDescription.name:
                let methods = ["mesh.ping", "mesh.broker", NodeHealth.name, NodeDescription.name, MDP.managementPrefix + "service"]
                    .map { MethodDescription(name: $0, kind: .unary) }
                let description = NodeDescription(role: Self.role, node: configuration.name, methods: methods)
                answer = (.reply, 0, description.encoded)
            default:
                answer = (.error, StatusCode.notFound.rawValue,
                          Array("broker \(configuration.name) answers mesh.ping, mesh.broker, mesh.health and mesh.describe, not \(header.name); ask a registry for mesh.lookup".utf8))
            }
        }
        router.answer(route, request: header, command: answer.command, status: answer.status, body: answer.body, output: &output)
        router.stats.replies += 1
        carryOut(output)
    }

    /// `mmi.service`: "200" if the mesh knows the named service (a service node, a worker, or
    /// another broker's workers), else "404". Any other `mmi.` name: "501" (RFC 8).
    private func management(_ name: String, _ body: [[UInt8]]) -> [UInt8] {
        guard name == "mmi.service" else { return MDP.Status.notImplemented }
        let asked = String(decoding: body.first ?? [], as: UTF8.self)
        return router.knows(service: asked) ? MDP.Status.found : MDP.Status.notFound
    }

    /// Frames to an MDP client; counted dropped if it is gone.
    private func sendClient(_ route: [[UInt8]], _ message: [[UInt8]]) {
        let result = frontend?.assumeIsolated { $0.transmit(route + message) }
        if !(result?.accepted ?? false) { router.stats.dropped += 1 }
    }
}
