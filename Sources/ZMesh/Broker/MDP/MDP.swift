/// The Majordomo Protocol (ZeroMQ RFC 18's MDP/0.2, and the other dialects in
/// `MDPDialect.swift`) and the Majordomo Management Interface (RFC 8), as the broker speaks
/// them: frames after the ROUTER's routing id. See docs/INTEROP.md.
enum MDP {
    /// "MDPC02": MDP/Client v0.2.
    static let clientProtocol: [UInt8] = Array("MDPC02".utf8)
    /// "MDPW02": MDP/Worker v0.2.
    static let workerProtocol: [UInt8] = Array("MDPW02".utf8)

    /// MDP/Client commands, by their RFC 18 numbers (``Dialect/clientCode(_:)`` gives
    /// another dialect's).
    enum ClientCommand: UInt8, CaseIterable {
        case request = 0x01
        case partial = 0x02
        case final = 0x03
    }

    /// MDP/Worker commands, by their RFC 18 numbers (MDP/0.1's REPLY is ``final``).
    enum WorkerCommand: UInt8, CaseIterable {
        case ready = 0x01
        case request = 0x02
        case partial = 0x03
        case final = 0x04
        case heartbeat = 0x05
        case disconnect = 0x06
    }

    /// The MMI namespace: names the broker answers itself.
    static let managementPrefix = "mmi."

    /// MMI status codes, as reply bodies.
    enum Status {
        static let found: [UInt8] = Array("200".utf8)
        static let notFound: [UInt8] = Array("404".utf8)
        static let notImplemented: [UInt8] = Array("501".utf8)
    }

    /// A service name: RFC 18 calls it a "printable string". Printable ASCII, 1 to 255 bytes.
    static func serviceName(_ bytes: [UInt8]) -> String? {
        guard !bytes.isEmpty, bytes.count <= 255, bytes.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Frames after the routing id of a PARTIAL or FINAL to a client, in its dialect:
    /// RFC 18 `[MDPC02] [command] [service] [body...]`; MDP/0.1 `[] [MDPC01] [service] [body...]`
    /// (a REPLY: FINAL only, the router joins parts for it); majortomo `[] [MDPC02] [command]
    /// [body...]`. A message carries at least one body frame (RFC 18 and RFC 7: 4 or more
    /// frames), so an empty body travels as one empty frame.
    static func clientMessage(_ command: ClientCommand, service: String, body: [[UInt8]], dialect: Dialect) -> [[UInt8]] {
        assert(dialect.takesPartials || command == .final, "MDP/0.1 has no PARTIAL")
        var frames: [[UInt8]] = []
        frames.reserveCapacity(4 + max(1, body.count))
        if dialect.leadingEmptyFrame { frames.append([]) }
        frames.append(dialect.clientProtocol)
        if let code = dialect.clientCode(command) { frames.append([code]) }
        if dialect != .majortomo { frames.append(Array(service.utf8)) }
        if body.isEmpty { frames.append([]) } else { frames.append(contentsOf: body) }
        return frames
    }

    /// Frames after the routing id of a command to a worker, in its dialect: `[MDPW02]
    /// [command] ...`, with an empty frame first for MDP/0.1 (`MDPW01`) and majortomo. The
    /// commands a broker sends (REQUEST, HEARTBEAT, DISCONNECT) exist in every dialect.
    static func workerMessage(_ command: WorkerCommand, _ rest: [[UInt8]] = [], dialect: Dialect) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        frames.reserveCapacity(3 + rest.count)
        if dialect.leadingEmptyFrame { frames.append([]) }
        frames.append(dialect.workerProtocol)
        frames.append([dialect.workerCode(command) ?? command.rawValue])
        frames.append(contentsOf: rest)
        return frames
    }

    /// The one client-address frame the broker puts in a worker REQUEST: the request id the
    /// broker tracks the request by (16 bytes), which the worker hands back in PARTIAL and FINAL.
    static func address(of id: RequestID) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        bytes.appendBigEndian(id.client)
        bytes.appendBigEndian(id.sequence)
        return bytes
    }

    static func requestID(fromAddress bytes: [UInt8]) -> RequestID? {
        guard bytes.count == 16 else { return nil }
        return bytes.withUnsafeBytes { raw in
            RequestID(client: raw.loadBigEndian(UInt64.self, at: 0), sequence: raw.loadBigEndian(UInt64.self, at: 8))
        }
    }
}
