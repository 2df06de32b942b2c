import Foundation
import Testing
@testable import ZMesh
import ZMeshTestSupport

/// A Majordomo client of one dialect, run as a process from Tests/Peers: all print the same
/// JSON lines (Tests/Peers/peer_cli.py), read by ``MDP/parse(_:status:)``.
enum MajordomoClientPeer: String, CaseIterable, Sendable, CustomStringConvertible {
    /// RFC 18's MDP/0.2 on a DEALER (mdp_client.py, written from RFC 18).
    case rfc18
    /// RFC 7's MDP/0.1 on a REQ socket, as the guide's mdcliapi (mdp01_client.py, written from RFC 7).
    case rfc7Req = "rfc7-req"
    /// RFC 7's MDP/0.1 on a DEALER that sends the empty frame itself, as the guide's mdcliapi2.
    case rfc7Dealer = "rfc7-dealer"
    /// majortomo 0.2.0's Client, from PyPI, unmodified (majortomo_client.py).
    case majortomo

    /// Every client but RFC 18's (MajordomoTests covers that one).
    static let otherDialects: [Self] = [.rfc7Req, .rfc7Dealer, .majortomo]

    var description: String { rawValue }

    /// Takes PARTIALs as they come (MDP/0.1 gets one REPLY).
    var takesPartials: Bool { self == .rfc18 || self == .majortomo }

    /// The script and its arguments before the endpoint.
    private var command: [String] {
        switch self {
        case .rfc18: return [MDP.peer("mdp_client.py")]
        case .rfc7Req: return [MDP.peer("mdp01_client.py"), "--socket", "req"]
        case .rfc7Dealer: return [MDP.peer("mdp01_client.py"), "--socket", "dealer"]
        case .majortomo: return [MDP.peer("majortomo_client.py")]
        }
    }

    /// One request: the peer checks the reply's frames and that nothing follows it for 300 ms.
    /// A protocol violation fails the test here.
    func request(_ endpoint: String, _ service: String, _ body: [String], timeout: Double = 10,
                 sourceLocation: SourceLocation = #_sourceLocation) async throws -> MDP.Reply {
        let result = try await runCommand("/usr/bin/env", ["python3"] + command + [endpoint, service] + body
                                            + ["--json", "--timeout", String(timeout), "--quiet-ms", "300"],
                                          timeout: .seconds(Int(timeout) + 30))
        let reply = try MDP.parse(result.stdout + result.stderr, status: result.status)
        if reply.error?.hasPrefix("violation") == true {
            Issue.record("the broker broke the \(self) dialect answering \(service) at \(endpoint): \(reply)",
                         sourceLocation: sourceLocation)
        }
        return reply
    }

    /// The same in the background (to kill a worker while it waits); prints SENT n=1 when sent.
    func background(_ endpoint: String, _ service: String, _ body: [String], timeout: Double) throws -> ChildProcess {
        try ChildProcess(name: "mdp-\(self)-client-\(service)", executable: "/usr/bin/env",
                         arguments: ["python3", "-u"] + command + [endpoint, service] + body
                            + ["--json", "--verbose", "--timeout", String(timeout), "--quiet-ms", "300"])
    }
}

/// A Majordomo worker of one dialect, run as a process from Tests/Peers; all print the same
/// lines (READY, HEARTBEAT-IN first since READY, REQUEST, HANDLED, VIOLATION, RECONNECT, STOPPED).
enum MajordomoWorkerPeer: String, CaseIterable, Sendable, CustomStringConvertible {
    /// RFC 18 (mdp_worker.py): heartbeats while it works.
    case rfc18
    /// RFC 7's MDP/0.1 (mdp01_worker.py): single-threaded as the guide's mdwrkapi.
    case rfc7
    /// majortomo 0.2.0's Worker, from PyPI, unmodified (majortomo_worker.py).
    case majortomo

    var description: String { rawValue }

    private var script: String {
        switch self {
        case .rfc18: return "mdp_worker.py"
        case .rfc7: return "mdp01_worker.py"
        case .majortomo: return "majortomo_worker.py"
        }
    }

    /// The client of the same dialect.
    var client: MajordomoClientPeer {
        switch self {
        case .rfc18: return .rfc18
        case .rfc7: return .rfc7Req
        case .majortomo: return .majortomo
        }
    }

    /// Starts a worker for `service` at a broker's workers endpoint.
    func start(_ endpoint: String, _ service: String, mode: String, name: String, delayMs: Int? = nil) throws -> ChildProcess {
        var arguments = ["python3", "-u", MDP.peer(script), endpoint, service, "--mode", mode, "--name", name]
        if let delayMs { arguments += ["--delay-ms", String(delayMs)] }
        return try ChildProcess(name: name, executable: "/usr/bin/env", arguments: arguments)
    }
}

enum MajordomoPeers {
    /// Fails, not skips, when majortomo 0.2.0 is missing: scripts/test.sh installs it.
    static func requireMajortomo() async throws {
        try await MDP.requirePyzmq()
        let check = try await runCommand("/usr/bin/env", ["python3", "-c", "import majortomo"], timeout: .seconds(30))
        try #require(check.status == 0, """
            the Majordomo dialect tests need majortomo 0.2.0 from PyPI (python3 -c "import majortomo" exited \
            \(check.status): \(check.stderr.trimmingCharacters(in: .whitespacesAndNewlines))); \
            scripts/test.sh installs it (scripts/lib/setup.sh, ensure_majortomo)
            """)
    }

    /// The messages a broker has dropped as malformed so far, asked of it directly (`mesh.broker`).
    static func malformedCount(at broker: String) async throws -> UInt64 {
        let client = try MeshClient(configuration: .init(discovery: .endpoints([Endpoint.connectable(broker)])), logger: testLogger)
        let body = try? await client.call("mesh.broker", [], options: CallOptions(timeout: .seconds(3)))
        await client.shutdown()
        let stats = try JSONDecoder().decode(BrokerStats.self, from: Data(try #require(body, "mesh.broker at \(broker) did not answer")))
        return stats.malformedTotal
    }
}

/// What mdp_dialect_garbage.py prints.
struct DialectGarbageSummary: Decodable {
    let ok: Bool
    let disconnected: [String]
    let missingRequiredDisconnect: [String]
    let wrongDialect: [String: [String]]
    let commandsAfterDisconnect: [String: [String]]
    let answeredGarbage: [String: [String]]
    let countedAtLeast: UInt64
}
