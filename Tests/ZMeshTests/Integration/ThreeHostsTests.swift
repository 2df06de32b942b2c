import Foundation
import Testing
@testable import ZMesh
import ZMeshTestSupport

/// A brokered mesh over three hosts: network namespaces this test makes with
/// scripts/netns-hosts.sh (veth pairs on a bridge) and removes at the end, nodes started in
/// them by the real scripts/mesh-up.sh (`MESH_NETNS_<NODE>`), topologies/three-hosts.yaml.
/// Under load from a client on the first host, the third host's link is cut and restored.
@Suite("A mesh across three hosts", .serialized, .oneMeshAtATime)
struct ThreeHostsTests {
    /// The namespace prefix: not scripts/netns-hosts.sh's default (`zm`), so a person trying
    /// the script by hand and a test run do not remove each other's hosts.
    static let prefix = "zmt"

    @Test(.enabled(if: NetworkNamespaces.permitted, "needs root (CAP_NET_ADMIN) and iproute2 to make network namespaces"))
    func cuttingOneHostLosesNoIdempotentCallAndItsInstanceReturnsWhenTheLinkDoes() async throws {
        let clock = ContinuousClock()
        let began = clock.now
        try await NetworkNamespaces.with(prefix: Self.prefix) {
            let h1 = "\(Self.prefix)-h1", h2 = "\(Self.prefix)-h2", h3 = "\(Self.prefix)-h3"
            let mesh = try await MeshUnderTest("topologies/three-hosts.yaml", extraEnvironment: [
                // Each host has its own ports: no offset needed (nor wanted: the file's ports are the hosts').
                "ZMESH_PORT_OFFSET": "0",
                "MESH_NETNS_REGISTRY_1": h1, "MESH_NETNS_BROKER_1": h1, "MESH_NETNS_ECHO_1": h1,
                "MESH_NETNS_REGISTRY_2": h2, "MESH_NETNS_BROKER_2": h2, "MESH_NETNS_ECHO_2": h2,
                "MESH_NETNS_ECHO_3": h3,
            ])
            do {
                try await run(mesh, clock: clock, h1: h1)
            } catch {
                print(mesh.log(of: "echo-3"))
                await mesh.down()
                throw error
            }
            await mesh.down()
        }
        print("THREE-HOSTS: test took \(Self.ms(clock.now - began))")
    }

    private func run(_ mesh: MeshUnderTest, clock: ContinuousClock, h1: String) async throws {
        // `ip netns exec` execs the node: the pid mesh-up.sh recorded is the node's own.
        let echo3 = try mesh.pid(of: "echo-3")
        let command = (try? String(contentsOfFile: "/proc/\(echo3)/cmdline", encoding: .utf8)) ?? ""
        #expect(command.hasPrefix(try Repository.zmeshBinary()), "pid \(echo3) runs \(command)")

        // The test process reaches the hosts through the bridge's own address.
        let probe = try mesh.client()
        let watchers = try mesh.topology.registryAddresses.map {
            try MeshClient(configuration: .init(discovery: .registries([$0])), logger: testLogger)
        }
        // Each broker asked directly (`mesh.broker`), as `zmesh status` does.
        let brokers = try mesh.topology.brokers.map {
            try MeshClient(configuration: .init(discovery: .endpoints([Endpoint.connectable($0.bind)])), logger: testLogger)
        }
        func redispatched() async -> UInt64 {
            var total: UInt64 = 0
            for broker in brokers {
                let body = try? await broker.call("mesh.broker", [], options: CallOptions(timeout: .seconds(2)))
                total += body.flatMap { try? JSONDecoder().decode(BrokerStats.self, from: Data($0)) }?.redispatched ?? 0
            }
            return total
        }
        func liveEverywhere(_ node: String) async -> [Bool] {
            var answers: [Bool] = []
            for watcher in watchers {
                let instances = (try? await watcher.instances(of: "echo")) ?? []
                answers.append(instances.contains { $0.node == node && $0.health == .live })
            }
            return answers
        }
        func answered(by node: String, within timeout: Duration) async -> Bool {
            await eventually(timeout: timeout) {
                (try? await probe.call("echo.whoami", [], options: CallOptions(timeout: .seconds(2))))?.text == node
            }
        }
        #expect(await liveEverywhere("echo-3") == [true, true])
        #expect(await answered(by: "echo-3", within: .seconds(5)), "echo-3 never answered before the cut")

        // The client on the first host: `zmesh load`, idempotent calls only, progress every second.
        let load = try ChildProcess(name: "three-hosts-load", executable: try NetworkNamespaces.ip(), arguments: [
            "netns", "exec", h1, try Repository.zmeshBinary(), "load", "--config", mesh.file,
            "--seconds", "25", "--concurrency", "8", "--mix", "echo=1,count=1", "--timeout", "10",
            "--report-every", "0.5", "--json",
        ], environment: mesh.environment)
        defer { load.signal(SIGKILL) }
        func ok() -> Int { Self.lastProgress(load.log)?["ok"] as? Int ?? 0 }
        #expect(await eventually(timeout: .seconds(10)) { ok() >= 300 }, "no load from h1: \(load.log)")

        let redispatchedBefore = await redispatched()
        let cut = clock.now
        try NetworkNamespaces.hosts("cut", "3", prefix: ThreeHostsTests.prefix)
        let evicted = await eventually(timeout: .seconds(5)) { await liveEverywhere("echo-3") == [false, false] }
        let eviction = clock.now - cut
        #expect(evicted, "the registries still list echo-3 \(Self.ms(eviction)) after its link was cut")
        // Calls to the other hosts go on: the load's count grows and the probe is answered by them.
        let before = ok()
        #expect(await eventually(timeout: .seconds(5)) { ok() >= before + 300 }, "calls stopped while h3 was cut")
        for _ in 0..<20 {
            let node = (try? await probe.call("echo.whoami", [], options: CallOptions(timeout: .seconds(2))))?.text
            #expect(node == "echo-1" || node == "echo-2", "echo.whoami answered \(node ?? "nothing") while h3 was cut")
        }

        let restored = clock.now
        try NetworkNamespaces.hosts("restore", "3", prefix: ThreeHostsTests.prefix)
        let back = await eventually(timeout: .seconds(10)) { await liveEverywhere("echo-3") == [true, true] }
        let returned = clock.now - restored
        #expect(back, "echo-3 not live again \(Self.ms(returned)) after its link was restored")
        let serving = await answered(by: "echo-3", within: .seconds(5))
        let tookLoad = clock.now - restored
        #expect(serving, "echo-3 took no call after it returned")
        #expect(load.isRunning, "the load ended before echo-3 returned: its calls did not overlap the return")

        let status = await load.waitForExit(timeout: .seconds(40))
        let summary = try #require(Self.summary(load.log), "no summary from zmesh load:\n\(load.log)")
        let calls = summary["calls"] as? Int ?? 0
        let lost = summary["lost"] as? Int ?? -1
        let errors = summary["errors"] as? [String: Int] ?? [:]
        let retries = summary["retries"] as? Int ?? 0
        // Not asserted: whether a call was at echo-3 at the very moment of the cut is chance
        // (very likely with 8 in flight); the count shows what "lose nothing" covered.
        let resent = await redispatched() - redispatchedBefore
        #expect(status == 0, "zmesh load exited \(status.map(String.init) ?? "late"):\n\(load.log)")
        #expect(calls > 1_000)
        #expect(lost == 0 && errors.isEmpty, "lost \(lost), errors \(errors)")
        print("THREE-HOSTS: \(calls) idempotent calls from h1, \(lost) lost, errors \(errors), \(retries) retried by the client, \(resent) re-sent by the brokers; "
              + "echo-3 evicted by both registries \(Self.ms(eviction)) after its link was cut, "
              + "live again \(Self.ms(returned)) and answering \(Self.ms(tookLoad)) after it was restored")
        await probe.shutdown()
        for watcher in watchers { await watcher.shutdown() }
        for broker in brokers { await broker.shutdown() }
    }

    static func ms(_ duration: Duration) -> String {
        "\(duration.components.seconds * 1_000 + duration.components.attoseconds / 1_000_000_000_000_000) ms"
    }

    /// The JSON objects `zmesh load --json` printed, of one type.
    static func lines(_ log: String, type: String) -> [[String: Any]] {
        log.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("{"),
                  let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  object["type"] as? String == type else { return nil }
            return object
        }
    }

    static func lastProgress(_ log: String) -> [String: Any]? { lines(log, type: "progress").last }
    static func summary(_ log: String) -> [String: Any]? { lines(log, type: "summary").last }
}

/// scripts/netns-hosts.sh from a test.
enum NetworkNamespaces {
    /// True when this process may make network namespaces (root with iproute2): tried once.
    static let permitted: Bool = {
        guard getuid() == 0, let ip = try? ip() else { return false }
        let name = "zmt-probe-\(getpid())"
        guard (try? runSync(ip, ["netns", "add", name])) == 0 else { return false }
        _ = try? runSync(ip, ["netns", "del", name])
        return true
    }()

    static func ip() throws -> String {
        for path in ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"] where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        throw ProcessFailure("no `ip` (iproute2): apt-get install -y iproute2 (scripts/test.sh does)")
    }

    /// `scripts/netns-hosts.sh ARGUMENTS PREFIX`; throws unless it exits 0.
    static func hosts(_ arguments: String..., prefix: String) throws {
        let script = Repository.root.appendingPathComponent("scripts/netns-hosts.sh").path
        let status = try runSync(script, arguments + [prefix])
        guard status == 0 else { throw ProcessFailure("netns-hosts.sh \(arguments.joined(separator: " ")) \(prefix) exited \(status)") }
    }

    /// Makes the three hosts, runs `body`, removes them whatever happens.
    static func with(prefix: String, _ body: () async throws -> Void) async throws {
        try hosts("up", prefix: prefix)
        do {
            try await body()
        } catch {
            try? hosts("down", prefix: prefix)
            throw error
        }
        try hosts("down", prefix: prefix)
    }

    /// Runs a short command to completion (output to this process's).
    private static func runSync(_ executable: String, _ arguments: [String]) throws -> Int32 {
        let process = try SpawnedProcess(executable: executable, arguments: arguments)
        return process.waitUntilExit()
    }
}
