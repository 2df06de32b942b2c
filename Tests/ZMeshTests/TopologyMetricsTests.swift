import Testing
@testable import ZMesh

/// The `metrics: "HOST:PORT"` key every node entry may have: parsed, checked like the other
/// keys (errors name the line and key), unique across the file, shifted by ZMESH_PORT_OFFSET.
@Suite("Topology files: metrics addresses")
struct TopologyMetricsTests {
    /// A brokered file with a metrics address on every node; line numbers below count from 1.
    private static let observed = """
        topology: brokered
        registries:
          - { name: registry-1, bind: "tcp://127.0.0.1:5550", metrics: "127.0.0.1:9550" }
        brokers:
          - { name: broker-1, bind: "tcp://127.0.0.1:5560", metrics: "0.0.0.0:9560" }
        services:
          - { name: echo-1, service: echo, bind: "tcp://127.0.0.1:5601", metrics: "127.0.0.1:9601" }
          - name: echo-2
            service: echo
            bind: "tcp://127.0.0.1:5602"
            metrics: "[::1]:9602"

        """

    private func parse(_ yaml: String, environment: [String: String] = [:]) throws(TopologyError) -> Topology {
        try Topology.parse(yaml: yaml, path: "test.yaml", environment: environment)
    }

    /// The error parsing `yaml` throws.
    private func error(_ yaml: String, environment: [String: String] = [:]) -> TopologyError? {
        do {
            let topology = try parse(yaml, environment: environment)
            Issue.record("expected a TopologyError, got \(topology)")
            return nil
        } catch {
            return error
        }
    }

    @Test func metricsAddressesParseAndSayWhatIsWrong() throws {
        #expect(try MetricsAddress(parsing: "127.0.0.1:9601") == MetricsAddress(host: "127.0.0.1", port: 9601))
        #expect(try MetricsAddress(parsing: "*:9601") == MetricsAddress(host: "0.0.0.0", port: 9601))
        #expect(try MetricsAddress(parsing: "[::1]:9601") == MetricsAddress(host: "::1", port: 9601))
        #expect(try MetricsAddress(parsing: "[::1]:9601").description == "[::1]:9601")
        #expect(try MetricsAddress(parsing: "localhost:80").description == "localhost:80")
        for (text, problem) in [("127.0.0.1", "expected HOST:PORT"), ("http://127.0.0.1:9601", "without a scheme"),
                                (":9601", "with a host"), ("127.0.0.1:0", "port \"0\""), ("127.0.0.1:70000", "port \"70000\""),
                                ("127.0.0.1:*", "port \"*\""), ("bad host:1", "host \"bad host\"")] {
            let error = #expect(throws: ConfigurationError.self) { try MetricsAddress(parsing: text) }
            #expect(error?.message.contains(problem) == true, "\(text): \(String(describing: error))")
            #expect(error?.message.contains("\"\(text)\"") == true, "\(text): \(String(describing: error))")
        }
    }

    @Test func everyRoleMayNameAMetricsAddress() throws {
        let topology = try parse(Self.observed)
        #expect(topology.registries[0].metrics == "127.0.0.1:9550")
        #expect(topology.brokers[0].metrics == "0.0.0.0:9560")
        #expect(topology.services.map(\.metrics) == ["127.0.0.1:9601", "[::1]:9602"])
        #expect(topology.nodes.map(\.metrics) == ["127.0.0.1:9550", "0.0.0.0:9560", "127.0.0.1:9601", "[::1]:9602"])
        // Absent, or YAML null, is none.
        let plain = try parse(Self.observed.replacingOccurrences(of: ", metrics: \"127.0.0.1:9601\"", with: ", metrics: ~"))
        #expect(plain.services[0].metrics == nil)
    }

    @Test func aBadAddressNamesItsLineAndKey() throws {
        let cases: [(String, String, String)] = [
            ("127.0.0.1:99999", "port \"99999\" is not a number from 1 to 65535", "services[0].metrics"),
            ("127.0.0.1", "expected HOST:PORT", "services[0].metrics"),
            ("http://127.0.0.1:9601", "without a scheme", "services[0].metrics"),
            ("127.0.0.1:*", "port \"*\"", "services[0].metrics"),
        ]
        for (value, message, key) in cases {
            let yaml = Self.observed.replacingOccurrences(of: "\"127.0.0.1:9601\"", with: "\"\(value)\"")
            let found = try #require(error(yaml))
            #expect(found.key == key, "\(found)")
            #expect(found.line == 7, "\(found)")
            #expect(found.message.contains(message), "\(found)")
        }
        let list = try #require(error(Self.observed.replacingOccurrences(of: "metrics: \"[::1]:9602\"", with: "metrics: [9602]")))
        #expect(found(list, key: "services[1].metrics", line: 11, message: "expected HOST:PORT"))
        let registry = try #require(error(Self.observed.replacingOccurrences(of: "\"127.0.0.1:9550\"", with: "\":9550\"")))
        #expect(found(registry, key: "registries[0].metrics", line: 3, message: "with a host"))
        let broker = try #require(error(Self.observed.replacingOccurrences(of: "\"0.0.0.0:9560\"", with: "\"0.0.0.0:0\"")))
        #expect(found(broker, key: "brokers[0].metrics", line: 5, message: "port \"0\""))
        #expect(broker.description.hasPrefix("test.yaml:5:"))
    }

    @Test func twoNodesOnOneMetricsAddressIsAnError() throws {
        let twice = try #require(error(Self.observed.replacingOccurrences(of: "\"[::1]:9602\"", with: "\"127.0.0.1:9601\"")))
        #expect(found(twice, key: "services[1].metrics", line: 11, message: "127.0.0.1:9601 is already used by echo-1.metrics"))
        // A metrics port is a TCP port like a bind's: the two cannot share one.
        let bind = try #require(error(Self.observed.replacingOccurrences(of: "\"127.0.0.1:9550\"", with: "\"127.0.0.1:5601\"")))
        #expect(found(bind, key: "services[0].bind", line: 7, message: "tcp://127.0.0.1:5601 is already used by registry-1.metrics"))
    }

    @Test func thePortOffsetMovesMetricsPortsToo() throws {
        let shifted = try parse(Self.observed, environment: ["ZMESH_PORT_OFFSET": "100"])
        #expect(shifted.nodes.map(\.metrics) == ["127.0.0.1:9650", "0.0.0.0:9660", "127.0.0.1:9701", "[::1]:9702"])
        #expect(shifted.services[0].bind == "tcp://127.0.0.1:5701")
        let past = try #require(error(Self.observed, environment: ["ZMESH_PORT_OFFSET": "60000"]))
        #expect(found(past, key: "registries[0].bind", line: 3, message: "outside 1 to 65535"))
        let metricsPast = try #require(error(Self.observed.replacingOccurrences(of: "9602", with: "65535"),
                                             environment: ["ZMESH_PORT_OFFSET": "1"]))
        #expect(found(metricsPast, key: "services[1].metrics", line: 11, message: "moves port 65535 to 65536"))
    }

    @Test func theExampleFileNamesAMetricsAddressForEveryNode() throws {
        let path = TopologyMetricsTests.repository + "/topologies/observed.yaml"
        let topology = try Topology.load(path: path, environment: [:])
        #expect(!topology.nodes.isEmpty)
        for node in topology.nodes {
            let address = try #require(node.metrics, "\(node.name) has no metrics address")
            #expect(MetricsAddress.problem(with: address) == nil)
        }
    }

    private func found(_ error: TopologyError, key: String, line: Int, message: String) -> Bool {
        let matches = error.key == key && error.line == line && error.message.contains(message)
        if !matches { Issue.record("unexpected error: \(error)") }
        return matches
    }

    /// The repository root, from this file's path (Tests/ZMeshTests/TopologyMetricsTests.swift).
    private static let repository = String(#filePath.split(separator: "/", omittingEmptySubsequences: false).dropLast(3)
        .joined(separator: "/"))
}
