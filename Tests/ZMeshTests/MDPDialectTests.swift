import Testing
@testable import ZMesh

/// The Majordomo frame codec in its three dialects (RFC 18's MDP/0.2, RFC 7's MDP/0.1,
/// majortomo's MDP/0.2): which dialect a message is, where its parts are, what fits none, and
/// the frames each peer gets back. Frames start with the routing id, as the broker's ROUTER
/// sees them.
@Suite("Majordomo dialects")
struct MDPDialectTests {
    typealias MDP = ZMesh.MDP
    static let id: [UInt8] = [0, 1, 2, 3, 4]
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    // MARK: Clients

    @Test func eachDialectsClientRequestIsFoundWithItsServiceAndBody() throws {
        let cases: [([[UInt8]], MDP.Dialect, bodyStart: Int)] = [
            ([Self.id, Self.bytes("MDPC02"), [0x01], Self.bytes("echo"), Self.bytes("hi")], .rfc18, 4),
            ([Self.id, [], Self.bytes("MDPC01"), Self.bytes("echo"), Self.bytes("hi")], .rfc7, 4),
            ([Self.id, [], Self.bytes("MDPC02"), [0x02], Self.bytes("echo"), Self.bytes("hi")], .majortomo, 5),
        ]
        for (frames, dialect, bodyStart) in cases {
            #expect(MDP.isClientMessage(frames), "\(dialect)")
            let request = try MDP.clientRequest(frames).get()
            #expect(request == MDP.ClientRequest(dialect: dialect, service: "echo", bodyStart: bodyStart))
        }
    }

    @Test func nativeMessagesAreNotMajordomo() {
        let header = Header(command: .request, requestID: RequestID(client: 1, sequence: 1), name: "echo").encoded()
        #expect(!MDP.isClientMessage([Self.id, [], header, Self.bytes("body")]))
        // Through another broker: two routing ids, then the delimiter.
        #expect(!MDP.isClientMessage([Self.id, Self.bytes("client"), [], header]))
        #expect(!MDP.isClientMessage([Self.id]))
    }

    /// What fits no dialect is told apart by reason, so it is counted as such.
    @Test func requestsThatFitNoDialectAreRefusedWithAReason() {
        let echo = Self.bytes("echo"), body = Self.bytes("x")
        let cases: [([[UInt8]], MalformedReason)] = [
            ([Self.id, Self.bytes("MDPC02"), [0x01], echo], .missingHeader),             // no body
            ([Self.id, [], Self.bytes("MDPC01"), echo], .missingHeader),                 // no body
            ([Self.id, [], Self.bytes("MDPC02"), [0x02], echo], .missingHeader),         // no body
            ([Self.id, [], Self.bytes("MDPC02"), [0x01], echo, body], .unknownCommand),  // RFC 18's REQUEST, majortomo's framing
            ([Self.id, Self.bytes("MDPC02"), [0x02], echo, body], .unexpectedCommand),   // a PARTIAL from a client
            ([Self.id, [], Self.bytes("MDPC02"), [0x04], echo, body], .unexpectedCommand),
            ([Self.id, Self.bytes("MDPC02"), [0x01, 0x00], echo, body], .unknownCommand),
            ([Self.id, [], Self.bytes("MDPC01"), Self.bytes("ec\nho"), body], .badName),
            ([Self.id, [], Self.bytes("MDPC01"), [], body], .badName),
            ([Self.id, [], Self.bytes("MDPC02"), [0x02], [UInt8](repeating: 0x61, count: 256), body], .badName),
            ([Self.id, [], Self.bytes("MDPC03"), echo, body], .badSignature),
            ([Self.id, Self.bytes("MDPC01"), echo, body], .badSignature),              // MDP/0.1 without its empty frame
        ]
        for (frames, reason) in cases {
            switch MDP.clientRequest(frames) {
            case .success(let request): Issue.record("\(frames) decoded as \(request)")
            case .failure(let found): #expect(found == reason, "\(frames)")
            }
        }
    }

    @Test func eachClientIsAnsweredInItsDialect() {
        let body = [Self.bytes("hi")]
        #expect(MDP.clientMessage(.final, service: "echo", body: body, dialect: .rfc18)
                == [Self.bytes("MDPC02"), [0x03], Self.bytes("echo"), Self.bytes("hi")])
        #expect(MDP.clientMessage(.partial, service: "echo", body: body, dialect: .rfc18)
                == [Self.bytes("MDPC02"), [0x02], Self.bytes("echo"), Self.bytes("hi")])
        // MDP/0.1: a REPLY looks like the REQUEST, empty frame first (a REQ socket needs it).
        #expect(MDP.clientMessage(.final, service: "echo", body: body, dialect: .rfc7)
                == [[], Self.bytes("MDPC01"), Self.bytes("echo"), Self.bytes("hi")])
        // majortomo: FINAL 0x04, PARTIAL 0x03, no service frame.
        #expect(MDP.clientMessage(.final, service: "echo", body: body, dialect: .majortomo)
                == [[], Self.bytes("MDPC02"), [0x04], Self.bytes("hi")])
        #expect(MDP.clientMessage(.partial, service: "echo", body: body, dialect: .majortomo)
                == [[], Self.bytes("MDPC02"), [0x03], Self.bytes("hi")])
        // An empty body is one empty frame in every dialect.
        for dialect in MDP.Dialect.allCases {
            #expect(MDP.clientMessage(.final, service: "echo", body: [], dialect: dialect).last == [])
        }
    }

    // MARK: Workers

    @Test func eachDialectsWorkerCommandsAreFound() throws {
        let ready = Self.bytes("upper")
        let cases: [([[UInt8]], MDP.Dialect, MDP.WorkerCommand, rest: Int)] = [
            ([Self.id, Self.bytes("MDPW02"), [0x01], ready], .rfc18, .ready, 3),
            ([Self.id, Self.bytes("MDPW02"), [0x05]], .rfc18, .heartbeat, 3),
            ([Self.id, [], Self.bytes("MDPW01"), [0x01], ready], .rfc7, .ready, 4),
            ([Self.id, [], Self.bytes("MDPW01"), [0x03], [9], [], [7]], .rfc7, .final, 4),   // REPLY
            ([Self.id, [], Self.bytes("MDPW01"), [0x04]], .rfc7, .heartbeat, 4),
            ([Self.id, [], Self.bytes("MDPW01"), [0x05]], .rfc7, .disconnect, 4),
            ([Self.id, [], Self.bytes("MDPW02"), [0x01], ready], .majortomo, .ready, 4),
            ([Self.id, [], Self.bytes("MDPW02"), [0x03], [9], [], [7]], .majortomo, .partial, 4),
            ([Self.id, [], Self.bytes("MDPW02"), [0x06]], .majortomo, .disconnect, 4),
        ]
        for (frames, dialect, command, rest) in cases {
            let message = try MDP.workerMessage(frames).get()
            #expect(message == MDP.WorkerMessage(dialect: dialect, command: command, rest: rest), "\(frames)")
        }
    }

    @Test func workerMessagesThatFitNoDialectAreRefusedWithAReason() {
        let cases: [([[UInt8]], MalformedReason)] = [
            ([Self.id, [], Self.bytes("MDPW01"), [0x06]], .unknownCommand),    // MDP/0.1 has five commands
            ([Self.id, [], Self.bytes("MDPW01"), [0x00]], .unknownCommand),
            ([Self.id, Self.bytes("MDPW01"), [0x01], Self.bytes("x")], .badSignature),   // no empty frame
            ([Self.id, [], Self.bytes("MDPW03"), [0x01], Self.bytes("x")], .badSignature),
            ([Self.id, [], Self.bytes("MDPW02"), [0x01, 0x00]], .badSignature),
            ([Self.id, []], .badSignature),
            ([Self.id, [], Self.bytes("MDPW01")], .badSignature),
        ]
        for (frames, reason) in cases {
            switch MDP.workerMessage(frames) {
            case .success(let message): Issue.record("\(frames) decoded as \(message)")
            case .failure(let found): #expect(found == reason, "\(frames)")
            }
        }
    }

    @Test func eachWorkerIsSpokenToInItsDialect() {
        let request = [[9], [], Self.bytes("hi")] as [[UInt8]]
        #expect(MDP.workerMessage(.request, request, dialect: .rfc18) == [Self.bytes("MDPW02"), [0x02]] + request)
        #expect(MDP.workerMessage(.request, request, dialect: .rfc7) == [[], Self.bytes("MDPW01"), [0x02]] + request)
        #expect(MDP.workerMessage(.request, request, dialect: .majortomo) == [[], Self.bytes("MDPW02"), [0x02]] + request)
        #expect(MDP.workerMessage(.heartbeat, dialect: .rfc18) == [Self.bytes("MDPW02"), [0x05]])
        #expect(MDP.workerMessage(.heartbeat, dialect: .rfc7) == [[], Self.bytes("MDPW01"), [0x04]])
        #expect(MDP.workerMessage(.disconnect, dialect: .rfc7) == [[], Self.bytes("MDPW01"), [0x05]])
        #expect(MDP.workerMessage(.disconnect, dialect: .majortomo) == [[], Self.bytes("MDPW02"), [0x06]])
    }
}
