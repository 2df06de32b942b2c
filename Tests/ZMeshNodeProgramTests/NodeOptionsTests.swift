import ArgumentParser
import Testing
import ZMeshNodeProgram

/// The command line every node program shares with `zmesh node`.
@Suite("NodeOptions")
struct NodeOptionsTests {
    @Test func theNameIsAnArgumentOrNodeAsMeshUpGivesIt() throws {
        let positional = try NodeOptions.parse(["echo-1", "--config", "mesh.yaml"])
        #expect(positional.nodeName == "echo-1")
        #expect(positional.configPath == "mesh.yaml")
        let flagged = try NodeOptions.parse(["--node", "echo-2", "--config", "mesh.yaml", "--log-level", "debug", "--log-format", "json"])
        #expect(flagged.nodeName == "echo-2")
        #expect(flagged.logging.logLevel == "debug" && flagged.logging.logFormat == "json")
        #expect(try NodeOptions.parse(["echo-1", "--node", "echo-1", "--config", "mesh.yaml"]).nodeName == "echo-1")
    }

    @Test func aMissingOrDoubleNameAndAnUnknownFlagAreUsageErrorsThatSaySo() {
        func message(_ arguments: [String]) -> String {
            do {
                _ = try NodeOptions.parse(arguments)
                return ""
            } catch {
                #expect(NodeOptions.exitCode(for: error) == .validationFailure)
                return NodeOptions.message(for: error)
            }
        }
        #expect(message(["--config", "mesh.yaml"]).contains("say which node"))
        #expect(message(["echo-1", "--node", "echo-2", "--config", "mesh.yaml"]).contains("named twice"))
        #expect(message(["echo-1", "--config", "mesh.yaml", "--bogus"]).contains("--bogus"))
        #expect(message(["echo-1", "--config", "mesh.yaml", "stray"]).contains("stray"))
    }
}
