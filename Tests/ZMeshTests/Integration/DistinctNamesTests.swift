import Foundation
import Testing
@testable import ZMesh
#if canImport(Glibc)
import Glibc
#endif

/// Issue 10: a node kept state per name a caller chose (a counter per called name), so a
/// caller could grow it without bound by calling made-up names. Each role is sent 300,000
/// requests, each for a name never used before, by a pyzmq peer (Tests/Peers/distinct_names.py)
/// or, for the client, by `zmesh load --mix unknown=...`; every request must be answered,
/// the node's resident set must grow by less than 16 MiB, and it must still serve.
@Suite("Distinct unknown names leave nothing behind", .serialized, .oneMeshAtATime)
struct DistinctNamesTests {
    /// Requests per attack.
    static let names = 300_000
    /// Most a node's resident set may grow over one attack.
    static let rssBoundKiB = 16 * 1024

    @Test("a service node keeps nothing per called name, hosted under its service or not")
    func serviceNode() async throws {
        try await HostileInputTests.requirePyzmq()
        let mesh = try await MeshUnderTest("topologies/brokerless.yaml")
        defer { Task { await mesh.down() } }
        let echo = try #require(mesh.topology.services.first { $0.name == "echo-1" })
        let direct = try MeshClient(configuration: .init(discovery: .endpoints([echo.bind])), logger: testLogger)
        #expect(try await direct.call("echo", "warm".bytes).text == "warm")

        // Names nobody hosts (answered notFound), then names under `echo.` (answered by the
        // echo handler, which hosts every `echo.*` without a handler of its own).
        for pattern in ["zz{n}", "echo.zz{n}"] {
            try await Self.attack(mesh, node: "echo-1", endpoint: echo.bind, form: "native", pattern: pattern)
            #expect(try await direct.call("echo", "after \(pattern)".bytes).text == "after \(pattern)")
        }
        await direct.shutdown()
        await mesh.down()
    }

    @Test("a registry keeps nothing per looked-up or called name")
    func registry() async throws {
        try await HostileInputTests.requirePyzmq()
        let mesh = try await MeshUnderTest("topologies/brokerless.yaml")
        defer { Task { await mesh.down() } }
        let registry = try #require(mesh.topology.registries.first)
        let client = try mesh.client()
        #expect(try await client.call("echo", "warm".bytes).text == "warm")

        try await Self.attack(mesh, node: registry.name, endpoint: registry.bind, form: "lookup", pattern: "zz{n}")
        try await Self.attack(mesh, node: registry.name, endpoint: registry.bind, form: "native", pattern: "mesh.zz{n}")
        // Still answering look-ups: a new client resolves echo through it.
        let fresh = try mesh.client()
        #expect(try await fresh.call("echo", "after".bytes).text == "after")
        await fresh.shutdown()
        await client.shutdown()
        await mesh.down()
    }

    @Test("a broker keeps nothing per service name, native or Majordomo, nor do its instances")
    func broker() async throws {
        try await HostileInputTests.requirePyzmq()
        // brokered.yaml with MDP requests expiring after 100 ms: RFC 18 has a broker queue a
        // request for a service nobody serves until it expires, so this makes 300,000 of them
        // take seconds, not hours.
        let file = try Self.brokeredWithShortMajordomoExpiry()
        defer { try? FileManager.default.removeItem(atPath: file) }
        let mesh = try await MeshUnderTest(file)
        defer { Task { await mesh.down() } }
        let broker = try #require(mesh.topology.brokers.first)
        let client = try mesh.client()
        #expect(try await client.call("echo", "warm".bytes).text == "warm")

        // Unknown services: answered unavailable by the broker itself.
        try await Self.attack(mesh, node: broker.name, endpoint: broker.bind, form: "native", pattern: "zz{n}")
        // Names under a real service: routed to echo-1 and echo-2, which answer them.
        let instances = ["echo-1", "echo-2"]
        let before = try instances.map { try residentKiB(of: mesh.pid(of: $0)) }
        try await Self.attack(mesh, node: broker.name, endpoint: broker.bind, form: "native", pattern: "echo.zz{n}", window: 512)
        for (instance, rss) in zip(instances, before) {
            try Self.expectBounded(mesh, node: instance, before: rss, what: "native echo.zz{n} through \(broker.name)")
        }
        // Majordomo clients asking for unknown services: queued, then expired (504).
        try await Self.attack(mesh, node: broker.name, endpoint: broker.bind, form: "mdp", pattern: "zz{n}", window: 8_000)
        #expect(try await client.call("echo", "after".bytes).text == "after")
        await client.shutdown()
        await mesh.down()
    }

    @Test("a client keeps nothing per name it calls (a gateway passing its callers' names on)")
    func client() async throws {
        let mesh = try await MeshUnderTest("topologies/brokerless.yaml")
        defer { Task { await mesh.down() } }
        // 335,000 operations, ten of eleven a made-up name: about 304,500 unknown names, and
        // echo calls among them that must keep getting their replies.
        let load = try await runCommand(try Repository.zmeshBinary(), [
            "load", "--mix", "unknown=10,echo=1", "--operations", "335000", "--seconds", "600",
            "--concurrency", "64", "--report-every", "1", "--json", "--timeout", "10", "--config", mesh.file,
        ], environment: mesh.environment, timeout: .seconds(660))
        #expect(load.status == 0, "zmesh load exited \(load.status): \(load.stderr.suffix(2_000))")
        let lines = load.stdout.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
        let firstProgress = try #require(lines.first { $0["type"] as? String == "progress" }, "no progress line: \(load.stdout.suffix(1_000))")
        let summary = try #require(lines.last { $0["type"] as? String == "summary" }, "no summary: \(load.stdout.suffix(1_000))")
        let byName = summary["by_name"] as? [String: [String: Int]] ?? [:]
        let unknown = byName["unknown"]?["calls"] ?? 0
        #expect(unknown >= Self.names, "only \(unknown) calls to unknown names")
        #expect(summary["lost"] as? Int == 0, "calls lost: \(summary)")
        #expect(byName["echo"]?["lost"] == 0 && (byName["echo"]?["calls"] ?? 0) > 0, "echo calls failed among the unknown ones: \(byName)")
        let before = firstProgress["rss_kib"] as? Int ?? 0
        let after = summary["rss_end_kib"] as? Int ?? 0
        print("DISTINCT client: \(unknown) unknown names, RSS \(before) -> \(after) KiB (\(after - before >= 0 ? "+" : "")\(after - before) KiB), "
              + "\(summary["calls_per_s"] ?? 0) calls/s")
        #expect(after - before < Self.rssBoundKiB, "the client grew by \(after - before) KiB (\(before) -> \(after) KiB) over \(unknown) unknown names")
        await mesh.down()
    }

    // MARK: Helpers

    /// Sends `names` requests for distinct names made from `pattern` to `endpoint`, and checks
    /// that every one was answered, `node` is alive, and its RSS grew by less than the bound.
    static func attack(_ mesh: MeshUnderTest, node: String, endpoint: String, form: String, pattern: String,
                       window: Int = 2_000) async throws {
        let pid = try mesh.pid(of: node)
        let before = try residentKiB(of: pid)
        let peer = try await runCommand("/usr/bin/env", [
            "python3", Repository.root.appendingPathComponent("Tests/Peers/distinct_names.py").path,
            "--count", String(names), "--form", form, "--pattern", pattern, "--window", String(window),
            "--seconds", "240", endpoint,
        ], timeout: .seconds(300))
        let summary = peer.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(peer.status == 0, "distinct_names.py (\(form) \(pattern) to \(node)) exited \(peer.status): \(summary) \(peer.stderr.suffix(2_000))")
        #expect(kill(pid, 0) == 0, "\(node) is gone after \(form) \(pattern):\n\(mesh.log(of: node).suffix(4_000))")
        print("DISTINCT \(node) \(form) \(pattern): \(summary)")
        try expectBounded(mesh, node: node, before: before, what: "\(form) \(pattern)")
    }

    /// Records an issue if `node` grew by the bound or more since `before`.
    static func expectBounded(_ mesh: MeshUnderTest, node: String, before: Int, what: String) throws {
        let after = try residentKiB(of: mesh.pid(of: node))
        print("DISTINCT \(node) after \(what): RSS \(before) -> \(after) KiB (\(after - before >= 0 ? "+" : "")\(after - before) KiB)")
        #expect(after - before < rssBoundKiB,
                "\(node) grew by \(after - before) KiB (\(before) -> \(after) KiB) over \(names) distinct unknown names (\(what)); bound \(rssBoundKiB) KiB")
    }

    /// topologies/brokered.yaml with `mdp_expiry_ms: 100` on its broker, as a temporary file.
    static func brokeredWithShortMajordomoExpiry() throws -> String {
        let original = try String(contentsOf: Repository.root.appendingPathComponent("topologies/brokered.yaml"), encoding: .utf8)
        let anchor = "workers: \"tcp://127.0.0.1:5565\" }"
        try #require(original.contains(anchor), "topologies/brokered.yaml no longer has \(anchor)")
        let changed = original.replacingOccurrences(of: anchor, with: "workers: \"tcp://127.0.0.1:5565\", mdp_expiry_ms: 100 }")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("zmesh-brokered-\(UUID().uuidString).yaml").path
        try changed.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
