extension MDP {
    /// The forms of Majordomo the broker speaks, told apart per message by its first frames
    /// (docs/INTEROP.md has a table). Each peer is answered in the form it spoke.
    ///
    /// | dialect | frames after the routing id | client commands | worker commands |
    /// |---|---|---|---|
    /// | ``rfc18`` | `MDPC02`/`MDPW02`, command, ... | REQUEST 1, PARTIAL 2, FINAL 3 | READY 1 ... DISCONNECT 6 |
    /// | ``rfc7`` | empty, `MDPC01`/`MDPW01`, ... | none: a REQUEST and its REPLY are alike | READY 1, REQUEST 2, REPLY 3, HEARTBEAT 4, DISCONNECT 5 |
    /// | ``majortomo`` | empty, `MDPC02`/`MDPW02`, command, ... | REQUEST 2, PARTIAL 3, FINAL 4 | as RFC 18 |
    enum Dialect: UInt8, Sendable, Equatable, CaseIterable, CustomStringConvertible {
        /// MDP/0.2 as ZeroMQ RFC 18 writes it: no empty frame first.
        case rfc18
        /// MDP/0.1, ZeroMQ RFC 7 (the ZeroMQ guide's mdcliapi and mdwrkapi): an empty frame first,
        /// no command frame for clients, and REPLY where 0.2 has FINAL.
        case rfc7
        /// MDP/0.2 as majortomo 0.2.0 (PyPI) speaks it: an empty frame first, client commands
        /// numbered like worker ones, and no service frame in replies to clients.
        case majortomo

        var description: String {
            switch self {
            case .rfc18: return "MDP/0.2 (RFC 18)"
            case .rfc7: return "MDP/0.1 (RFC 7)"
            case .majortomo: return "MDP/0.2 (majortomo)"
            }
        }

        /// Its messages start with an empty frame (before the protocol frame).
        var leadingEmptyFrame: Bool { self != .rfc18 }

        /// `MDPC01` or `MDPC02`.
        var clientProtocol: [UInt8] { self == .rfc7 ? MDP.clientProtocol01 : MDP.clientProtocol }
        /// `MDPW01` or `MDPW02`.
        var workerProtocol: [UInt8] { self == .rfc7 ? MDP.workerProtocol01 : MDP.workerProtocol }

        /// Its clients take PARTIALs. MDP/0.1 has one REPLY per request: a worker's parts are
        /// joined into it.
        var takesPartials: Bool { self != .rfc7 }

        /// Its workers heartbeat while they run a request. The guide's MDP/0.1 worker and
        /// majortomo's run the request on the thread that heartbeats, so they fall silent until
        /// they answer: the broker does not expire them for silence while they hold a request.
        var heartbeatsWhileBusy: Bool { self == .rfc18 }

        /// The byte of a client command, nil for MDP/0.1 (it has no command frame).
        func clientCode(_ command: ClientCommand) -> UInt8? {
            switch self {
            case .rfc18: return command.rawValue
            case .rfc7: return nil
            case .majortomo: return command.rawValue + 1
            }
        }

        /// The byte of a worker command, nil where the dialect has no such command (PARTIAL in
        /// MDP/0.1).
        func workerCode(_ command: WorkerCommand) -> UInt8? {
            guard self == .rfc7 else { return command.rawValue }
            switch command {
            case .ready: return 0x01
            case .request: return 0x02
            case .partial: return nil
            case .final: return 0x03   // REPLY
            case .heartbeat: return 0x04
            case .disconnect: return 0x05
            }
        }

        /// The worker command a byte stands for in this dialect, nil if none.
        func workerCommand(_ code: UInt8) -> WorkerCommand? {
            WorkerCommand.allCases.first { workerCode($0) == code }
        }
    }

    /// "MDPC01": MDP/Client v0.1 (RFC 7).
    static let clientProtocol01: [UInt8] = Array("MDPC01".utf8)
    /// "MDPW01": MDP/Worker v0.1 (RFC 7).
    static let workerProtocol01: [UInt8] = Array("MDPW01".utf8)
}

extension MDP {
    /// An MDP client's request as the broker answers it: the service it named (RFC 18 and
    /// MDP/0.1 echo it in every reply) and the dialect it spoke.
    struct Caller: Sendable, Equatable {
        /// The service name the client sent.
        let service: String
        /// The dialect it spoke.
        let dialect: Dialect
    }
}
