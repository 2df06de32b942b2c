import Foundation
import Testing
@testable import ZMesh

@Suite("Topology files")
struct TopologyTests {
    // MARK: - Valid files

    @Test func brokerlessExampleFileRoundTrips() throws {
        let path = repositoryRoot.appendingPathComponent("topologies/brokerless.yaml").path
        let topology = try Topology.load(path: path, environment: [:])
        let expected = Topology(
            kind: .brokerless,
            heartbeat: .init(interval: .milliseconds(500), liveness: 3),
            registries: [.init(name: "registry-1", bind: "tcp://127.0.0.1:5550", publish: "tcp://127.0.0.1:5551")],
            brokers: [],
            services: [
                .init(name: "echo-1", services: ["echo", "stream"], bind: "tcp://127.0.0.1:5601"),
                .init(name: "echo-2", services: ["echo", "stream"], bind: "tcp://127.0.0.1:5602"),
                .init(name: "kv-1", services: ["kv"], bind: "tcp://127.0.0.1:5611"),
            ],
            path: path)
        #expect(topology == expected)
        #expect(topology.path == path)
        #expect(topology.serviceNames == ["echo", "kv", "stream"])
        #expect(topology.nodes.map(\.name) == ["registry-1", "echo-1", "echo-2", "kv-1"])
    }

    @Test func brokeredFileWithBrokersWorkersAndEveryServiceKey() throws {
        let yaml = """
            topology: brokered
            heartbeat:
              interval_ms: 250
              liveness: 4
            registries:
              - name: registry-1
                bind: tcp://127.0.0.1:5550
            brokers:
              - name: broker-1
                bind: tcp://127.0.0.1:5555
                workers: tcp://127.0.0.1:5556
                mdp_expiry_ms: 2500
              - { name: broker_2, bind: "ipc:///tmp/zmesh-broker-2" }
            services:
              - name: greeter-1
                services: [greeter, echo]
                bind: "tcp://*:5701"
                advertise: tcp://127.0.0.1:5701
                max_concurrency: 8
                executable: .build/debug/Greeter
                args: ["--verbose", "two words"]
            """
        let topology = try parse(yaml)
        #expect(topology.kind == .brokered)
        #expect(topology.heartbeat == .init(interval: .milliseconds(250), liveness: 4))
        #expect(topology.registries == [.init(name: "registry-1", bind: "tcp://127.0.0.1:5550")])
        #expect(topology.brokers == [
            .init(name: "broker-1", bind: "tcp://127.0.0.1:5555", workers: "tcp://127.0.0.1:5556", majordomoExpiry: .milliseconds(2500)),
            .init(name: "broker_2", bind: "ipc:///tmp/zmesh-broker-2"),
        ])
        #expect(topology.services == [
            .init(name: "greeter-1", services: ["greeter", "echo"], bind: "tcp://*:5701",
                  advertise: "tcp://127.0.0.1:5701", maxConcurrency: 8, executable: ".build/debug/Greeter",
                  arguments: ["--verbose", "two words"]),
        ])
        #expect(topology.services[0].endpoint == "tcp://127.0.0.1:5701")
        #expect(topology.path == "test.yaml")
    }

    @Test func heartbeatDefaultsTo500MillisecondsAndLiveness3() throws {
        #expect(try parse(base).heartbeat == .init(interval: .milliseconds(500), liveness: 3))
        #expect(try parse("heartbeat: {}\n" + base).heartbeat == .init(interval: .milliseconds(500), liveness: 3))
        #expect(try parse("heartbeat: { liveness: 7 }\n" + base).heartbeat == .init(interval: .milliseconds(500), liveness: 7))
        #expect(try parse("heartbeat: { interval_ms: 10 }\n" + base).heartbeat.interval == .milliseconds(10))
        #expect(try parse(base).heartbeat.expiry == .milliseconds(1500))
    }

    @Test func servicesMayBeAbsentOrEmpty() throws {
        let registryOnly = """
            topology: brokerless
            registries: [{ name: registry-1, bind: "tcp://127.0.0.1:5550" }]
            """
        #expect(try parse(registryOnly).services.isEmpty)
        #expect(try parse(registryOnly + "\nservices: []").services.isEmpty)
    }

    // MARK: - Keys

    @Test func aRegistrysInstanceLimitIsOptionalAndChecked() throws {
        #expect(try parse(base).registries[0].maxInstances == nil)
        let set = base.replacingOccurrences(of: "bind: \"tcp://127.0.0.1:5550\"", with: "bind: \"tcp://127.0.0.1:5550\", max_instances: 250000")
        #expect(try parse(set).registries[0].maxInstances == 250_000)
        expectError(base.replacingOccurrences(of: "bind: \"tcp://127.0.0.1:5550\"", with: "bind: \"tcp://127.0.0.1:5550\", max_instances: 0"),
                    key: "registries[0].max_instances", line: 3, message: "expected an integer from 1 to 10000000, got \"0\"")
        #expect(RegistryNode.Configuration(name: "registry-1", bind: "tcp://127.0.0.1:*").maxInstances == 100_000)
    }

    @Test func aRegistrysReadCoalescingIsOptionalAndChecked() throws {
        let key = "bind: \"tcp://127.0.0.1:5550\""
        #expect(try parse(base).registries[0].readCoalescing == nil)
        #expect(try parse(base.replacingOccurrences(of: key, with: key + ", read_coalescing_ms: 5")).registries[0].readCoalescing
                == .milliseconds(5))
        #expect(try parse(base.replacingOccurrences(of: key, with: key + ", read_coalescing_ms: 0")).registries[0].readCoalescing
                == .zero)
        expectError(base.replacingOccurrences(of: key, with: key + ", read_coalescing_ms: 500"),
                    key: "registries[0].read_coalescing_ms", line: 3, message: "expected an integer from 0 to 100, got \"500\"")
        #expect(RegistryNode.Configuration(name: "registry-1", bind: "tcp://127.0.0.1:*").readCoalescing == .milliseconds(2))
    }

    @Test func unknownTopLevelKeyIsReportedAtTheKey() {
        expectError(base + "colour: blue\n", key: "colour", line: 6, column: 1,
                    message: "unknown key \"colour\" (expected one of: topology, heartbeat, limits, registries, registry, brokers, services, security)")
    }

    @Test func unknownKeyInsideAServiceIsReportedAtTheKey() {
        let yaml = base + "  - { name: echo-2, service: echo, bind: \"tcp://127.0.0.1:5602\", port: 5602 }\n"
        expectError(yaml, key: "services[1].port", line: 6, column: column(of: "port", line: 6, in: yaml),
                    message: "unknown key \"port\" (expected one of: name, service, services, bind, advertise")
    }

    @Test func unknownKeyInsideHeartbeat() {
        expectError("heartbeat: { interval: 5 }\n" + base, key: "heartbeat.interval", line: 1, column: 14,
                    message: "unknown key \"interval\" (expected one of: interval_ms, liveness)")
    }

    @Test func missingBindIsReportedAtTheMappingThatLacksIt() {
        let yaml = base + "  - { name: echo-2, service: echo }\n"
        expectError(yaml, key: "services[1]", line: 6, column: 5, message: "missing required key \"bind\"")
        let block = """
            topology: brokerless
            registries:
              - name: registry-1
                publish: tcp://127.0.0.1:5551
            """
        expectError(block, key: "registries[0]", line: 3, column: 5, message: "missing required key \"bind\"")
    }

    @Test func missingTopologyIsReportedAtTheRoot() {
        expectError("registries: [{ name: r, bind: \"tcp://127.0.0.1:5550\" }]\n", key: "", line: 1, column: 1,
                    message: "missing required key \"topology\"")
    }

    @Test func unknownTopologyKind() {
        expectError(base.replacingOccurrences(of: "brokerless", with: "mesh"), key: "topology", line: 1, column: 11,
                    message: "expected brokerless or brokered, got \"mesh\"")
    }

    // MARK: - Endpoints

    @Test func badPortIsReportedAtTheValueWithLineAndColumn() throws {
        let yaml = base + "  - { name: echo-2, service: echo, bind: \"tcp://127.0.0.1:99999\" }\n"
        let expectedColumn = try #require(column(of: "\"tcp://127.0.0.1:99999\"", line: 6, in: yaml))
        #expect(expectedColumn == 42)
        expectError(yaml, key: "services[1].bind", line: 6, column: expectedColumn,
                    message: "port \"99999\" is not a number from 1 to 65535")
        let error = try #require(parseError(yaml))
        #expect(error.description == "test.yaml:6:42: services[1].bind: port \"99999\" is not a number from 1 to 65535")
    }

    @Test func wildcardPortIsRejectedInEveryEndpoint() {
        expectError(base.replacingOccurrences(of: "127.0.0.1:5601", with: "127.0.0.1:*"),
                    key: "services[0].bind", line: 5, column: 42, message: "wildcard port")
        expectError(base.replacingOccurrences(of: "\" }\nservices", with: "\", publish: \"tcp://*:*\" }\nservices"),
                    key: "registries[0].publish", line: 3, message: "wildcard port")
        // A wildcard host is fine for binding.
        #expect(throws: Never.self) { try parse(base.replacingOccurrences(of: "127.0.0.1:5601", with: "*:5601")) }
    }

    @Test func badTransportAndMissingScheme() {
        expectError(base.replacingOccurrences(of: "tcp://127.0.0.1:5601", with: "udp://127.0.0.1:5601"),
                    key: "services[0].bind", line: 5, message: "unsupported transport \"udp\"")
        expectError(base.replacingOccurrences(of: "\"tcp://127.0.0.1:5601\"", with: "localhost:5601"),
                    key: "services[0].bind", line: 5, message: "expected transport://address")
    }

    @Test func duplicateEndpointNamesTheFirstUser() {
        let yaml = base + "  - { name: echo-2, service: echo, bind: \"tcp://127.0.0.1:5601\" }\n"
        expectError(yaml, key: "services[1].bind", line: 6, column: 42,
                    message: "tcp://127.0.0.1:5601 is already used by echo-1.bind")
        // publish counts too.
        let publish = base.replacingOccurrences(of: "\" }\nservices", with: "\", publish: \"tcp://127.0.0.1:5601\" }\nservices")
        expectError(publish, key: "services[0].bind", line: 5,
                    message: "tcp://127.0.0.1:5601 is already used by registry-1.publish")
    }

    @Test func advertiseMayRepeatAnotherEndpoint() throws {
        let yaml = base + "  - { name: echo-2, service: echo, bind: \"tcp://*:5602\", advertise: \"tcp://127.0.0.1:5602\" }\n"
            + "  - { name: echo-3, service: echo, bind: \"tcp://0.0.0.0:5603\", advertise: \"tcp://127.0.0.1:5602\" }\n"
        #expect(try parse(yaml).services.map(\.endpoint) == ["tcp://127.0.0.1:5601", "tcp://127.0.0.1:5602", "tcp://127.0.0.1:5602"])
    }

    // MARK: - Names

    @Test func duplicateNodeNameAcrossRoles() {
        let yaml = base + "  - { name: registry-1, service: kv, bind: \"tcp://127.0.0.1:5611\" }\n"
        expectError(yaml, key: "services[1].name", line: 6, column: 13,
                    message: "node name \"registry-1\" is already used by registries[0]")
    }

    @Test func badNodeNamesExplainTheRule() {
        for name in ["Echo-1", "-echo", "echo.1", "echo 1", "_x", "\"\""] {
            let yaml = base.replacingOccurrences(of: "name: echo-1", with: "name: \(name)")
            expectError(yaml, key: "services[0].name", line: 5, column: 13,
                        message: "use lowercase letters, digits, - and _, starting with a letter or digit")
        }
        #expect(throws: Never.self) { try parse(base.replacingOccurrences(of: "name: echo-1", with: "name: 9echo_a-b")) }
    }

    @Test func serviceAndServicesTogetherIsAnError() {
        let yaml = base.replacingOccurrences(of: "service: echo,", with: "service: echo, services: [kv],")
        expectError(yaml, key: "services[0]", line: 5, column: 5, message: "either service (one name) or services")
        let neither = base.replacingOccurrences(of: "service: echo,", with: "")
        expectError(neither, key: "services[0]", line: 5, column: 5, message: "missing required key \"service\"")
    }

    @Test func serviceNamesFollowTheProtocolRules() {
        expectError(base.replacingOccurrences(of: "service: echo", with: "service: echo.ping"),
                    key: "services[0].service", line: 5, column: 30, message: "must not contain \".\"")
        expectError(base.replacingOccurrences(of: "service: echo", with: "services: [echo, \"kv\\tx\"]"),
                    key: "services[0].services[1]", line: 5, message: "control character")
        expectError(base.replacingOccurrences(of: "service: echo", with: "service: \(String(repeating: "a", count: 256))"),
                    key: "services[0].service", line: 5, message: "the most is 255")
        expectError(base.replacingOccurrences(of: "service: echo", with: "services: []"),
                    key: "services[0].services", line: 5, message: "expected a non-empty list of strings")
    }

    // MARK: - Brokers and registries

    @Test func brokersInABrokerlessFileAreAnError() {
        let yaml = base + "brokers:\n  - { name: broker-1, bind: \"tcp://127.0.0.1:5555\" }\n"
        expectError(yaml, key: "brokers", line: 7, column: 3, message: "brokers are only used with topology: brokered")
    }

    @Test func brokeredFileNeedsBrokers() {
        let brokered = base.replacingOccurrences(of: "brokerless", with: "brokered")
        expectError(brokered, key: "", line: 1, column: 1, message: "missing required key \"brokers\"")
        expectError(brokered + "brokers: []\n", key: "brokers", line: 6, column: 10,
                    message: "topology: brokered needs at least one broker")
    }

    @Test func registriesMustNotBeEmpty() {
        let yaml = base.replacingOccurrences(of: "registries:\n  - { name: registry-1, bind: \"tcp://127.0.0.1:5550\" }",
                                             with: "registries: []")
        expectError(yaml, key: "registries", line: 2, column: 13, message: "expected at least one registry")
        let missing = "topology: brokerless\nservices: []\n"
        expectError(missing, key: "", line: 1, column: 1, message: "missing required key \"registries\"")
    }

    // MARK: - Types

    @Test func wrongTypesSayWhatWasExpected() {
        expectError("heartbeat: { interval_ms: abc }\n" + base, key: "heartbeat.interval_ms", line: 1, column: 27,
                    message: "expected an integer from 10 to 60000, got \"abc\"")
        expectError("heartbeat: { interval_ms: 5 }\n" + base, key: "heartbeat.interval_ms", line: 1,
                    message: "expected an integer from 10 to 60000, got \"5\"")
        expectError("heartbeat: { liveness: 101 }\n" + base, key: "heartbeat.liveness", line: 1,
                    message: "expected an integer from 1 to 100, got \"101\"")
        expectError("heartbeat: [500]\n" + base, key: "heartbeat", line: 1, message: "expected a mapping")
        expectError(base.replacingOccurrences(of: "name: echo-1", with: "name: [echo-1]"),
                    key: "services[0].name", line: 5, column: 13, message: "expected a string, got a list")
        expectError(base.replacingOccurrences(of: "bind: \"tcp://127.0.0.1:5601\"", with: "bind: { port: 5601 }"),
                    key: "services[0].bind", line: 5, message: "expected an endpoint such as \"tcp://127.0.0.1:5601\", got a mapping")
        let notAList = base.components(separatedBy: "services:")[0] + "services: echo\n"
        expectError(notAList, key: "services", line: 4, column: 11, message: "expected a list of mappings, got \"echo\"")
        expectError(base + "  - echo-2\n", key: "services[1]", line: 6, column: 5, message: "expected a list of mappings")
        expectError(base.replacingOccurrences(of: "service: echo", with: "service: echo, max_concurrency: 0"),
                    key: "services[0].max_concurrency", line: 5, message: "expected an integer of at least 1, got \"0\"")
        expectError(base.replacingOccurrences(of: "service: echo", with: "service: echo, args: --verbose"),
                    key: "services[0].args", line: 5, message: "expected a list of strings")
        expectError(base.replacingOccurrences(of: "service: echo", with: "service: echo, executable: \"\""),
                    key: "services[0].executable", line: 5, message: "expected a non-empty string")
    }

    // MARK: - Not a topology at all

    @Test func yamlSyntaxErrorCarriesItsPosition() {
        expectError("topology: brokerless\n  bad: indentation\n", key: "", line: 2, column: 6,
                    message: "mapping values are not allowed in this context")
        expectError(base + "topology: brokered\n", key: "", line: 1, message: "duplicate key \"topology\"")
    }

    @Test func emptyFileAndNonMappingRoot() {
        expectError("", key: "", line: nil, message: "the file is empty")
        expectError("# just a comment\n", key: "", line: nil, message: "the file is empty")
        expectError("- topology\n- brokerless\n", key: "", line: 1, column: 1,
                    message: "expected a mapping at the top level")
    }

    @Test func missingFileSaysWhy() throws {
        let path = repositoryRoot.appendingPathComponent("topologies/no-such-file.yaml").path
        do {
            _ = try Topology.load(path: path, environment: [:])
            Issue.record("expected a TopologyError")
        } catch {
            #expect(error.path == path)
            #expect(error.key == "")
            #expect(error.line == nil && error.column == nil)
            #expect(error.message == "cannot read the file: No such file or directory")
            #expect(error.description == "\(path): cannot read the file: No such file or directory")
        }
    }

    // MARK: - Description

    @Test func descriptionReadsLikeACompilerMessage() {
        #expect(TopologyError(path: "t.yaml", line: 3, column: 7, key: "services[0].bind", message: "bad").description
                == "t.yaml:3:7: services[0].bind: bad")
        #expect(TopologyError(path: "t.yaml", line: 3, key: "topology", message: "bad").description == "t.yaml:3: topology: bad")
        #expect(TopologyError(path: "t.yaml", key: "", message: "bad").description == "t.yaml: bad")
    }
}


@Suite("Topology files: advertised endpoints")
struct TopologyAdvertiseTests {
    @Test func aWildcardHostCannotBeAdvertised() {
        let yaml = """
            topology: brokerless
            registries:
              - { name: registry-1, bind: "tcp://127.0.0.1:5550" }
            services:
              - { name: echo-1, service: echo, bind: "tcp://*:5601", advertise: "tcp://*:5601" }
            """
        #expect {
            _ = try Topology.parse(yaml: yaml, path: "t.yaml")
        } throws: { error in
            guard let error = error as? TopologyError else { return false }
            return error.key == "services[0].advertise" && error.line == 5 && error.message.contains("name a host")
        }
    }
}
