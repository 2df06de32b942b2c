import MeshClock

extension BrokerCore {
    /// The router's requests, carried out with this broker's sockets. Made once per event
    /// (a message, a timer); holds the front and back end so the hot path's sends need no
    /// hop through the actor, and defers the sweep and the drain waiters' wake-up to
    /// ``BrokerCore/carryOut(_:)`` after the router returns (the router may not be re-entered).
    struct Output: BrokerRouterOutput {
        // `unowned(unsafe)` and `Uncounted`: no reference counting. Safe: an output lives only
        // for one event, inside a method of the actor it points to (and of the sockets it
        // holds), which are alive throughout; counted references cost the hot path dearly
        // here, as these objects have weak references and so count through a side table.
        /// The broker, for the rarer outputs (workers, connections, announcements).
        unowned(unsafe) let core: BrokerCore
        /// The front end, as it was when the event came.
        let frontend: Uncounted<Transport.Socket>?
        /// The back end, as it was when the event came.
        let backend: Uncounted<Transport.Socket>?
        /// The router asked for a sweep.
        private(set) var wantsSweep = false
        /// The router let go of its last request.
        private(set) var becameIdle = false
        /// Hops are traced: a reply ends its request's span.
        private let tracesHops: Bool

        /// An output for one event on `core`'s executor.
        init(core: isolated BrokerCore) {
            self.core = core
            self.frontend = core.frontend.map(Uncounted.init)
            self.backend = core.backend.map(Uncounted.init)
            self.tracesHops = core.configuration.tracer != nil
        }

        /// A request through the back end, one body frame without a copy; to a worker, as MDP.
        func send(_ header: Header, body: [[UInt8]], route: [[UInt8]], to instance: BrokerRouter.Instance) -> Bool {
            if instance.kind == .worker {
                return core.assumeIsolated {
                    $0.sendToWorker(instance.routingID, dialect: instance.dialect, request: header.requestID, body: body)
                }
            }
            guard let backend else { return false }
            var routing = [[UInt8]]()
            routing.reserveCapacity(route.count + 1)
            routing.append(instance.routingID)
            routing.append(contentsOf: route)
            let result: SendOutcome?
            if body.count == 1 {
                let payload = body[0]
                result = header.withEncoded { bytes in
                    backend.with { backend in
                        backend.assumeIsolated(passing: (routing, bytes, payload)) { socket, message in
                            socket.transmit(routing: message.0, header: message.1, body: message.2)
                        }
                    }
                }
            } else {
                let frames = routing + [[], header.encoded()] + body
                result = backend.with { $0.assumeIsolated { $0.transmit(frames) } }
            }
            return result?.accepted ?? false
        }

        /// A mesh REPLY or ERROR through the front end.
        func reply(to route: [[UInt8]], header: Header, body: [[UInt8]]) -> Bool {
            if tracesHops, header.command != .credit, !header.flags.contains(.partial) { core.assumeIsolated { $0.endHop(header) } }
            let result = frontend?.with { $0.assumeIsolated { $0.transmit(Envelope.frames(routing: route, header: header, body: body)) } }
            return result?.accepted ?? false
        }

        /// An MDP PARTIAL or FINAL through the front end, in the client's dialect.
        func replyMajordomo(_ command: MDP.ClientCommand, to route: [[UInt8]], caller: MDP.Caller, status: UInt16?,
                            body: [[UInt8]]) -> Bool {
            let message = BrokerCore.majordomoClientMessage(command, caller: caller, status: status, body: body)
            let result = frontend?.with { $0.assumeIsolated { $0.transmit(route + message) } }
            return result?.accepted ?? false
        }

        /// Connects the back end (see ``BrokerCore/connectInstance(_:endpoint:routingID:)``).
        func connect(instance id: String, endpoint: String, routingID: [UInt8]) -> Bool {
            core.assumeIsolated { $0.connectInstance(id, endpoint: endpoint, routingID: routingID) }
        }

        /// Disconnects the back end from the endpoint.
        func disconnect(from endpoint: String) {
            try? backend?.with { try $0.assumeIsolated { try $0.disconnect(endpoint) } }
        }

        /// An MDP command to a worker, on the workers' socket, in its dialect.
        func tell(worker routingID: [UInt8], dialect: MDP.Dialect, _ command: MDP.WorkerCommand) {
            core.assumeIsolated { $0.sendWorker(routingID, dialect: dialect, command) }
        }

        /// Announces the workers' services to the registries if they changed.
        func workersChanged(_ workers: WorkerSummary) {
            core.assumeIsolated { $0.announceWorkersIfChanged(workers) }
        }

        /// Noted; ``BrokerCore/carryOut(_:)`` arms the sweep timer.
        mutating func armSweep() { wantsSweep = true }

        /// Noted; ``BrokerCore/carryOut(_:)`` wakes the drain waiters.
        mutating func idle() { becameIdle = true }
    }
}
