import Foundation
import Testing
@testable import ZMesh

/// Topology files under environment overrides (ZMESH_PORT_OFFSET and the like).
@Suite("Topology files: environment overrides")
struct TopologyEnvironmentTests {

    @Test func portOffsetShiftsEveryTCPPort() throws {
        let yaml = """
            topology: brokerless
            registries:
              - { name: registry-1, bind: "tcp://127.0.0.1:5550", publish: "tcp://127.0.0.1:5551" }
            services:
              - { name: echo-1, service: echo, bind: "tcp://*:5601", advertise: "tcp://127.0.0.1:5601" }
              - { name: kv-1, service: kv, bind: "ipc:///tmp/zmesh-kv-1" }
            """
        let shifted = try parse(yaml, environment: ["ZMESH_PORT_OFFSET": "100"])
        #expect(shifted.registries[0].bind == "tcp://127.0.0.1:5650")
        #expect(shifted.registries[0].publish == "tcp://127.0.0.1:5651")
        #expect(shifted.services[0].bind == "tcp://*:5701")
        #expect(shifted.services[0].advertise == "tcp://127.0.0.1:5701")
        #expect(shifted.services[1].bind == "ipc:///tmp/zmesh-kv-1")

        let down = try parse(yaml, environment: ["ZMESH_PORT_OFFSET": "-50"])
        #expect(down.registries[0].bind == "tcp://127.0.0.1:5500")
        #expect(down.services[0].advertise == "tcp://127.0.0.1:5551")

        let brokered = """
            topology: brokered
            registries: [{ name: registry-1, bind: "tcp://127.0.0.1:5550" }]
            brokers: [{ name: broker-1, bind: "tcp://127.0.0.1:5555", workers: "tcp://127.0.0.1:5556" }]
            """
        let broker = try parse(brokered, environment: ["ZMESH_PORT_OFFSET": "1000"]).brokers[0]
        #expect(broker == .init(name: "broker-1", bind: "tcp://127.0.0.1:6555", workers: "tcp://127.0.0.1:6556"))
    }

    @Test func badPortOffsetIsReportedByVariableName() throws {
        expectError(base, environment: ["ZMESH_PORT_OFFSET": "x"], key: "ZMESH_PORT_OFFSET", line: nil,
                    message: "expected an integer, got \"x\"")
        let error = try #require(parseError(base, environment: ["ZMESH_PORT_OFFSET": "1.5"]))
        #expect(error.description == "test.yaml: ZMESH_PORT_OFFSET: expected an integer, got \"1.5\"")
        // Empty counts as unset.
        #expect(try parse(base, environment: ["ZMESH_PORT_OFFSET": ""]).services[0].bind == "tcp://127.0.0.1:5601")
    }

    @Test func portOffsetPastTheLastPortIsAnErrorAtTheEndpoint() {
        let yaml = base.replacingOccurrences(of: "127.0.0.1:5601", with: "127.0.0.1:65500")
        expectError(yaml, environment: ["ZMESH_PORT_OFFSET": "100"], key: "services[0].bind", line: 5, column: 42,
                    message: "ZMESH_PORT_OFFSET=100 moves port 65500 to 65600, outside 1 to 65535")
        expectError(base, environment: ["ZMESH_PORT_OFFSET": "-5550"], key: "registries[0].bind", line: 3,
                    message: "moves port 5550 to 0")
        expectError(base, environment: ["ZMESH_PORT_OFFSET": String(Int.max)], key: "registries[0].bind", line: 3,
                    message: "out of range")
    }

    @Test func perNodeBindOverrideIsTakenLiterallyAfterTheOffset() throws {
        let yaml = base + "  - { name: echo-2, service: echo, bind: \"tcp://127.0.0.1:5602\" }\n"
        let topology = try parse(yaml, environment: [
            "ZMESH_PORT_OFFSET": "100",
            "ZMESH_ECHO_1_BIND": "tcp://127.0.0.1:7000",
            "ZMESH_REGISTRY_1_BIND": "ipc:///tmp/registry",
        ])
        #expect(topology.services[0].bind == "tcp://127.0.0.1:7000")
        #expect(topology.services[1].bind == "tcp://127.0.0.1:5702")
        #expect(topology.registries[0].bind == "ipc:///tmp/registry")
        #expect(TopologyEnvironment.bindVariable(for: "echo-1") == "ZMESH_ECHO_1_BIND")
    }

    @Test func operationsGuideOverrideExampleHolds() throws {
        // docs/OPERATIONS.md, "Environment overrides": the second copy of the brokerless mesh.
        let path = repositoryRoot.appendingPathComponent("topologies/brokerless.yaml").path
        let topology = try Topology.load(path: path, environment: [
            "ZMESH_PORT_OFFSET": "1000", "ZMESH_ECHO_1_BIND": "tcp://127.0.0.1:7601",
        ])
        #expect(topology.registries[0].bind == "tcp://127.0.0.1:6550")
        #expect(topology.registries[0].publish == "tcp://127.0.0.1:6551")
        #expect(topology.services.map(\.bind) == ["tcp://127.0.0.1:7601", "tcp://127.0.0.1:6602", "tcp://127.0.0.1:6611"])
    }

    @Test func nodesSharingABindVariableCannotBeOverridden() {
        let yaml = base + "  - { name: echo_1, service: echo, bind: \"tcp://127.0.0.1:5602\" }\n"
        expectError(yaml, environment: ["ZMESH_ECHO_1_BIND": "tcp://127.0.0.1:7000"], key: "ZMESH_ECHO_1_BIND",
                    line: nil, message: "matches both echo-1 and echo_1")
    }

    @Test func badOrCollidingBindOverrideIsReportedByVariableName() {
        expectError(base, environment: ["ZMESH_ECHO_1_BIND": "tcp://127.0.0.1:99999"], key: "ZMESH_ECHO_1_BIND",
                    line: nil, message: "port \"99999\" is not a number from 1 to 65535")
        expectError(base, environment: ["ZMESH_ECHO_1_BIND": "tcp://127.0.0.1:*"], key: "ZMESH_ECHO_1_BIND",
                    line: nil, message: "wildcard port")
        expectError(base, environment: ["ZMESH_ECHO_1_BIND": "tcp://127.0.0.1:5550"], key: "ZMESH_ECHO_1_BIND",
                    line: nil, message: "tcp://127.0.0.1:5550 is already used by registry-1.bind")
    }

    @Test func heartbeatOverrides() throws {
        let topology = try parse(base, environment: ["ZMESH_HEARTBEAT_INTERVAL_MS": "250", "ZMESH_HEARTBEAT_LIVENESS": "5"])
        #expect(topology.heartbeat == .init(interval: .milliseconds(250), liveness: 5))
        expectError(base, environment: ["ZMESH_HEARTBEAT_INTERVAL_MS": "9"], key: "ZMESH_HEARTBEAT_INTERVAL_MS",
                    line: nil, message: "expected an integer from 10 to 60000, got \"9\"")
        expectError(base, environment: ["ZMESH_HEARTBEAT_LIVENESS": "many"], key: "ZMESH_HEARTBEAT_LIVENESS",
                    line: nil, message: "expected an integer from 1 to 100, got \"many\"")
    }

    @Test func parseIgnoresTheProcessEnvironmentByDefault() throws {
        // `parse` defaults to no overrides, whatever the process has set.
        #expect(try Topology.parse(yaml: base, path: "test.yaml").services[0].bind == "tcp://127.0.0.1:5601")
    }
}
