import DequeModule
import MeshClock

extension BrokerRouter {
    /// A request the broker holds: queued, or in flight at an instance. Keyed by its request
    /// id; `route` (the client's routing ids) must match on every message about it.
    ///
    /// A class so the hot path changes it in place, found once; only the router changes it.
    final class Flight {
        /// The client's routing ids, outermost first.
        let route: [[UInt8]]
        /// The request as the client sent it (Majordomo: as the broker made it up).
        var header: Header
        /// The body frames, forwarded as they came.
        let body: [[UInt8]]
        /// The service it is for (`kv` for `kv.get`).
        let service: String
        /// When the broker stops waiting for it.
        let deadline: MonotonicTime?
        /// The instance holding it now; nil while queued.
        var instance: String?
        /// How many times it was sent to an instance.
        var sent = 0
        /// Instances it was sent to and that lost it or refused it.
        var triedOn: [String] = []
        /// An MDP client's request: the reply goes back as Majordomo, in the client's dialect.
        var majordomo: MDP.Caller?
        /// PARTIAL bodies from a worker, kept for a caller that cannot take them one by one;
        /// at most `maxMessageBytes` in all (see ``BrokerRouter/keepPartials(_:of:_:output:)``).
        var partials: [[UInt8]] = []
        /// The bytes in `partials`.
        var partialBytes = 0
        /// A stream's messages passed on to the client so far: once one is, it is never re-sent.
        var delivered = 0

        /// A request as it arrives, held by nobody yet.
        init(route: [[UInt8]], header: Header, body: [[UInt8]], service: String, deadline: MonotonicTime?,
             majordomo: MDP.Caller? = nil) {
            self.route = route
            self.header = header
            self.body = body
            self.service = service
            self.deadline = deadline
            self.majordomo = majordomo
        }
    }
}

/// The requests a broker holds, by request id, with what bounds them: a count per client
/// route, and a queue per service of those waiting for an instance with room. Queues are
/// keyed by names clients choose, so an emptied queue is removed (issue 10).
struct FlightTable {
    /// Every request held, by request id.
    private var table = IDTable<RequestID, BrokerRouter.Flight>(minimumCapacity: 1024)
    /// Requests held per client route.
    private var perClient: [RouteKey: Int] = [:]
    /// Per service, the requests waiting for an instance with room, oldest first.
    private var queues: [String: Deque<RequestID>] = [:]
    /// Requests waiting in a queue.
    private(set) var queuedCount = 0

    /// The request with this id.
    subscript(key: RequestID) -> BrokerRouter.Flight? { table[key] }
    /// Requests held, queued or in flight.
    var count: Int { table.count }
    /// Nothing held.
    var isEmpty: Bool { table.isEmpty }
    /// Every request held, in no particular order.
    var entries: [(key: RequestID, value: BrokerRouter.Flight)] { table.entries }
    /// Requests held for the client at `route`.
    func count(for route: [[UInt8]]) -> Int { perClient[RouteKey(route), default: 0] }

    /// Holds a request, counted against its client.
    mutating func hold(_ flight: BrokerRouter.Flight, as key: RequestID) {
        table[key] = flight
        perClient[RouteKey(flight.route), default: 0] += 1
    }

    /// Removes a request and takes it out of its client's count (not out of a queue).
    @discardableResult
    mutating func forget(_ key: RequestID) -> BrokerRouter.Flight? {
        guard let flight = table.removeValue(forKey: key) else { return nil }
        let route = RouteKey(flight.route)
        if let held = perClient.index(forKey: route) {
            if perClient.values[held] > 1 { perClient.values[held] -= 1 } else { perClient.remove(at: held) }
        }
        return flight
    }

    /// The requests in flight at `instance`, oldest first.
    func held(at instance: String) -> [RequestID] {
        table.entries.filter { $0.value.instance == instance }.map(\.key).sorted { $0.sequence < $1.sequence }
    }

    // MARK: Queues

    /// How many requests wait for `service`.
    func queueLength(_ service: String) -> Int { queues[service]?.count ?? 0 }
    /// The request waiting longest for `service`.
    func firstQueued(_ service: String) -> RequestID? { queues[service]?.first }
    /// The services with requests waiting.
    var queuedServices: [String] { Array(queues.keys) }

    /// Puts a request at the back of its service's queue.
    mutating func enqueue(_ key: RequestID, service: String) {
        queues[service, default: []].append(key)  // in place: no copy of the queue
        queuedCount += 1
    }

    /// Takes the first waiting request off `service`'s queue.
    mutating func dequeueFirst(_ service: String) {
        queues[service]?.removeFirst()
        if queues[service]?.isEmpty == true { queues[service] = nil }
        queuedCount -= 1
    }

    /// Takes a queued request out of its service's queue. An emptied queue goes.
    mutating func unqueue(_ key: RequestID, service: String) {
        queues[service]?.removeAll { $0 == key }
        if queues[service]?.isEmpty == true { queues[service] = nil }
        queuedCount -= 1
    }

    /// Takes the native requests waiting for `service` out of its queue, in order, leaving
    /// Majordomo ones (RFC 18 queues those for a service nobody serves yet).
    mutating func takeNative(waitingFor service: String) -> [RequestID] {
        guard let waiting = queues[service] else { return [] }
        var kept = Deque<RequestID>()
        var taken: [RequestID] = []
        for key in waiting {
            if table[key]?.majordomo != nil { kept.append(key) } else { taken.append(key) }
        }
        guard !taken.isEmpty else { return [] }
        queues[service] = kept.isEmpty ? nil : kept
        queuedCount -= taken.count
        return taken
    }

    /// Empties every queue; returns what waited, service by service (still held).
    mutating func takeAllQueued() -> [RequestID] {
        let waiting = queues.values.flatMap { $0 }
        queues.removeAll()
        queuedCount = 0
        return waiting
    }
}

/// A client's route as a table key, hashed a frame at a time (an array of byte arrays hashes
/// byte by byte, which showed in the broker's profile: every request counts against its route
/// when held and when forgotten).
struct RouteKey: Hashable {
    let route: [[UInt8]]

    init(_ route: [[UInt8]]) { self.route = route }

    func hash(into hasher: inout Hasher) {
        hasher.combine(route.count)
        for hop in route {
            hasher.combine(hop.count)
            hop.withUnsafeBytes { hasher.combine(bytes: $0) }
        }
    }
}
