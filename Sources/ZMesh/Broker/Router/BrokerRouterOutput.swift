/// What a ``BrokerRouter`` asks its shell to do: send a request to an instance, answer a
/// client (natively or as Majordomo), connect to and disconnect from instances, talk to
/// Majordomo workers, wake it for a sweep. `BrokerCore` does these with its sockets; tests
/// record them. Generic, so the shell's calls are specialized, not dynamic.
///
/// The router calls these while it is being changed: an implementation must not call back
/// into the router it serves.
protocol BrokerRouterOutput {
    /// Sends a REQUEST (or a CANCEL) for the client at `route` to `instance`: through the back
    /// end to a service node or another broker, as an MDP REQUEST to a Majordomo worker.
    /// False if it could not be sent (no connection after all).
    mutating func send(_ header: Header, body: [[UInt8]], route: [[UInt8]], to instance: BrokerRouter.Instance) -> Bool

    /// Sends a mesh REPLY or ERROR to a client: `route`, the delimiter, `header`, `body`.
    /// False if it could not be routed (the client is gone).
    mutating func reply(to route: [[UInt8]], header: Header, body: [[UInt8]]) -> Bool

    /// Sends a PARTIAL or FINAL (MDP/0.1: a REPLY, FINAL only) to an MDP client, in the
    /// dialect of `caller`; a failure `status` (a mesh ``StatusCode`` raw value) goes first,
    /// as MDP has no error command. False if it could not be routed.
    mutating func replyMajordomo(_ command: MDP.ClientCommand, to route: [[UInt8]], caller: MDP.Caller,
                                 status: UInt16?, body: [[UInt8]]) -> Bool

    /// Connects the back end to the instance `id` at `endpoint`, addressing it by `routingID`.
    /// False if it cannot (the shell says why, once per instance).
    mutating func connect(instance id: String, endpoint: String, routingID: [UInt8]) -> Bool

    /// Disconnects the back end from an instance's endpoint.
    mutating func disconnect(from endpoint: String)

    /// Sends an MDP/Worker command with no body (HEARTBEAT, DISCONNECT) to a worker, in its dialect.
    mutating func tell(worker routingID: [UInt8], dialect: MDP.Dialect, _ command: MDP.WorkerCommand)

    /// The Majordomo workers changed (one registered, or one froze and was dropped): the
    /// shell tells the registries if the services they serve changed.
    mutating func workersChanged(_ workers: WorkerSummary)

    /// Asks for a ``BrokerRouter/sweep(now:output:)`` soon (every 50 ms while anything is held).
    mutating func armSweep()

    /// Nothing is held any more: a drain waiting for that may end.
    mutating func idle()
}

/// The broker's Majordomo workers as it announces them to the registries.
struct WorkerSummary: Sendable, Equatable {
    /// The services they serve, sorted.
    var services: [String]
    /// Requests they hold now.
    var load: Int
    /// How many there are.
    var count: Int
}
