import Foundation
import Testing
@testable import ZMesh
import ZMeshTestSupport
#if canImport(Glibc)
import Glibc
#endif

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

// MARK: - Peers

/// Runs the Python peers in Tests/Peers and reads what they print.
enum MDP {
    static func peer(_ name: String) -> String {
        Repository.root.appendingPathComponent("Tests/Peers/\(name)").path
    }

    /// Fails, not skips, when python3 or pyzmq is missing: scripts/test.sh installs them.
    static func requirePyzmq() async throws {
        let check = try await runCommand("/usr/bin/env", ["python3", "-c", "import zmq"], timeout: .seconds(30))
        try #require(check.status == 0, """
            the Majordomo tests need python3 with pyzmq (python3 -c "import zmq" exited \(check.status): \
            \(check.stderr.trimmingCharacters(in: .whitespacesAndNewlines))); scripts/test.sh installs it
            """)
    }

    struct Reply: CustomStringConvertible {
        let status: Int32
        let partials: [[String]]
        let final: [String]
        let error: String?
        let output: String
        var description: String {
            "exit \(status), \(partials.count) PARTIAL(s) \(partials), FINAL \(final)" + (error.map { ", \($0)" } ?? "")
                + (status == 0 ? "" : "\n\(output)")
        }
    }

    struct Record: Decodable {
        let n: Int
        let service: String
        let partials: [[String]]?
        let final: [String]?
        let error: String?
        let detail: String?
    }

    /// One request with mdp_client.py, which checks every frame against RFC 18 and that
    /// nothing follows the FINAL for 300 ms. A protocol violation fails the test here.
    static func request(_ endpoint: String, _ service: String, _ body: [String], timeout: Double = 10,
                        sourceLocation: SourceLocation = #_sourceLocation) async throws -> Reply {
        let result = try await runCommand("/usr/bin/env",
                                          ["python3", peer("mdp_client.py"), endpoint, service] + body
                                            + ["--json", "--timeout", String(timeout), "--quiet-ms", "300"],
                                          timeout: .seconds(Int(timeout) + 30))
        let reply = try parse(result.stdout + result.stderr, status: result.status)
        if reply.error?.hasPrefix("violation") == true {   // "violation: <rule and detail>"
            Issue.record("the broker broke RFC 18 answering \(service) at \(endpoint): \(reply)", sourceLocation: sourceLocation)
        }
        return reply
    }

    static func parse(_ output: String, status: Int32) throws -> Reply {
        let records = output.split(separator: "\n").compactMap { line -> Record? in
            guard line.hasPrefix("{") else { return nil }
            return try? JSONDecoder().decode(Record.self, from: Data(line.utf8))
        }
        guard let last = records.last else { return Reply(status: status, partials: [], final: [], error: "no output", output: output) }
        return Reply(status: status, partials: last.partials ?? [], final: last.final ?? [],
                     error: last.error.map { "\($0): \(last.detail ?? "")" }, output: output)
    }

    /// mdp_client.py in the background (to kill a worker while it waits).
    static func backgroundRequest(_ endpoint: String, _ service: String, _ body: [String], timeout: Double) throws -> ChildProcess {
        try ChildProcess(name: "mdp-client-\(service)", executable: "/usr/bin/env",
                         arguments: ["python3", "-u", peer("mdp_client.py"), endpoint, service] + body
                            + ["--json", "--verbose", "--timeout", String(timeout), "--quiet-ms", "300"])
    }

    /// Waits until a background client has sent its REQUEST (it prints SENT with --verbose).
    static func waitForSent(_ process: ChildProcess) async throws {
        let sent = await eventually(timeout: .seconds(15)) { process.log.contains("SENT n=1") }
        try #require(sent, "mdp_client.py never sent its request:\n\(process.log)")
    }

    /// mdp_worker.py, which checks everything the broker sends against RFC 18 and prints
    /// READY / REQUEST / HANDLED / VIOLATION / RECONNECT lines.
    static func worker(_ endpoint: String, _ service: String, mode: String, name: String, delayMs: Int? = nil) throws -> ChildProcess {
        var arguments = ["python3", "-u", peer("mdp_worker.py"), endpoint, service, "--mode", mode, "--name", name]
        if let delayMs { arguments += ["--delay-ms", String(delayMs)] }
        return try ChildProcess(name: name, executable: "/usr/bin/env", arguments: arguments)
    }

    /// Until the worker has sent READY and heard the broker's first HEARTBEAT on that
    /// connection (the broker MUST send heartbeats; an idle worker gets one within an interval),
    /// so the broker has taken the READY.
    static func waitForReady(_ worker: ChildProcess) async throws {
        let ready = await eventually(timeout: .seconds(15)) { worker.log.contains("\(worker.name) HEARTBEAT-IN first") }
        try #require(ready, "\(worker.name) never heard a HEARTBEAT from its broker after READY:\n\(worker.log)")
    }

    /// Until every broker says mmi.service NAME is 200: the workers are registered and, in
    /// ha.yaml, announced to the other broker.
    static func waitUntilServed(_ mesh: MeshUnderTest, _ service: String) async throws {
        for broker in mesh.topology.brokers {
            let known = await eventually(timeout: .seconds(20)) {
                (try? await request(broker.bind, "mmi.service", [service], timeout: 3))?.final == ["200"]
            }
            try #require(known, "\(broker.name) never knew \(service)")
        }
    }

    /// Waits for one worker of `pool` to print that it got `job`, SIGKILLs it (by PID), and
    /// returns (victim, survivor).
    static func killTheOneThatGot(_ job: String, of pool: [ChildProcess]) async throws -> (ChildProcess, ChildProcess) {
        var holder: ChildProcess?
        let got = await eventually(timeout: .seconds(15)) {
            holder = pool.first { $0.log.contains("REQUEST") && $0.log.contains(job) }
            return holder != nil
        }
        let victim = try #require(holder, "no worker got \(job) within 15 s:\n\(pool.map(\.log).joined(separator: "\n"))")
        #expect(got)
        victim.signal(SIGKILL)
        _ = await victim.waitForExit(timeout: .seconds(5))
        let survivor = pool.first { $0 !== victim }!
        return (victim, survivor)
    }

    /// The worker handled `requests` requests, saw no violation, and never lost the broker.
    static func expectClean(_ worker: ChildProcess, requests: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        let log = worker.log
        let handled = log.components(separatedBy: "\(worker.name) HANDLED").count - 1
        #expect(handled >= requests, "\(worker.name) handled \(handled) requests, expected \(requests):\n\(log)",
                sourceLocation: sourceLocation)
        #expect(!log.contains("VIOLATION"), "\(worker.name) saw the broker break RFC 18:\n\(log)", sourceLocation: sourceLocation)
        #expect(!log.contains("RECONNECT"), "\(worker.name) lost the broker (DISCONNECT or no heartbeat) while it was up:\n\(log)",
                sourceLocation: sourceLocation)
    }

}

struct GarbageSummary: Decodable {
    struct Random: Decodable, CustomStringConvertible {
        let sent: Int
        let received: Int
        let disconnects: Int
        var description: String { "sent \(sent), received \(received), DISCONNECTs \(disconnects)" }
    }
    let ok: Bool
    let disconnected: [String]
    let missingRequiredDisconnect: [String]
    let commandsAfterDisconnect: [String: [String]]
    let invalidFromBroker: [String: [String]]
    let random: Random?
}

extension JSONDecoder {
    static var snakeCase: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }
}
