import Testing
@testable import ZMesh

/// The `registry: { etcd: ... }` section of a topology file.
@Suite("Topology files on etcd")
struct TopologyEtcdTests {
    private let services = """
        services:
          - { name: echo-1, service: echo, bind: "tcp://127.0.0.1:5601" }

        """

    private func parseError(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) -> TopologyError? {
        do {
            let topology = try Topology.parse(yaml: yaml, path: "t.yaml")
            Issue.record("expected an error, got \(topology)", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    @Test func anEtcdFileNeedsNoRegistries() throws {
        let topology = try Topology.parse(yaml: """
            topology: brokerless
            registry: { etcd: { endpoints: ["http://127.0.0.1:2379", "http://10.0.0.2:2379"], prefix: "/mesh-a/" } }

            """ + services, path: "t.yaml")
        #expect(topology.etcd == Topology.Etcd(endpoints: ["http://127.0.0.1:2379", "http://10.0.0.2:2379"], prefix: "/mesh-a/"))
        #expect(topology.registries.isEmpty)
        #expect(try Topology.parse(yaml: "topology: brokerless\nregistry: { etcd: { endpoints: [\"http://127.0.0.1:2379\"] } }\n",
                                   path: "t.yaml").etcd?.prefix == "/zmesh/")
    }

    @Test func registriesAndEtcdTogetherAreRefusedAtTheRegistries() {
        let error = parseError("""
            topology: brokerless
            registry: { etcd: { endpoints: ["http://127.0.0.1:2379"] } }
            registries:
              - { name: registry-1, bind: "tcp://127.0.0.1:5550" }

            """)
        #expect(error?.key == "registries")
        #expect(error?.line == 4)
        #expect(error?.message.contains("keeps its instances in etcd") == true)
    }

    @Test func aBadEndpointOrPrefixNamesItsKeyAndLine() {
        let badURL = parseError("topology: brokerless\nregistry: { etcd: { endpoints: [\"https://127.0.0.1:2379\"] } }\n")
        #expect(badURL?.key == "registry.etcd.endpoints[0]")
        #expect(badURL?.line == 2)
        #expect(badURL?.message.contains("expected http://HOST:PORT") == true)
        let noPort = parseError("topology: brokerless\nregistry: { etcd: { endpoints: [\"http://127.0.0.1\"] } }\n")
        #expect(noPort?.key == "registry.etcd.endpoints[0]")
        let empty = parseError("topology: brokerless\nregistry: { etcd: { endpoints: [] } }\n")
        #expect(empty?.key == "registry.etcd.endpoints")
        let prefix = parseError("topology: brokerless\nregistry: { etcd: { endpoints: [\"http://127.0.0.1:2379\"], prefix: \"zmesh\" } }\n")
        #expect(prefix?.key == "registry.etcd.prefix")
        let unknown = parseError("topology: brokerless\nregistry: { consul: {} }\n")
        #expect(unknown?.key == "registry.consul")
    }

    @Test func aNodeOfAnEtcdFileNeedsADirectory() throws {
        let topology = try Topology.parse(yaml: "topology: brokerless\nregistry: { etcd: { endpoints: [\"http://127.0.0.1:2379\"] } }\n" + services,
                                          path: "t.yaml")
        #expect(throws: ConfigurationError.self) {
            _ = try MeshNode.make(named: "echo-1", in: topology, handlers: ServiceHandlers(), logger: testLogger)
        }
    }
}
