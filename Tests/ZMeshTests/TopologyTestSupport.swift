import Foundation
import Testing
@testable import ZMesh

// What the topology file tests share: parsing from a string, checking an error's key, line
// and column, and a small valid file to vary.

/// The repository root, found from this file's path (Tests/ZMeshTests/TopologyTestSupport.swift).
let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func parse(_ yaml: String, environment: [String: String] = [:]) throws(TopologyError) -> Topology {
    try Topology.parse(yaml: yaml, path: "test.yaml", environment: environment)
}

/// The error parsing `yaml` throws, recording an issue if it parses.
func parseError(
    _ yaml: String, environment: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation
) -> TopologyError? {
    do {
        let topology = try parse(yaml, environment: environment)
        Issue.record("expected a TopologyError, got \(topology)", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

/// Checks that parsing `yaml` fails at `key`, `line` and `column` with a message containing `message`.
func expectError(
    _ yaml: String, environment: [String: String] = [:],
    key: String, line: Int?, column: Int? = nil, message: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard let error = parseError(yaml, environment: environment, sourceLocation: sourceLocation) else { return }
    #expect(error.path == "test.yaml", sourceLocation: sourceLocation)
    #expect(error.key == key, "\(error)", sourceLocation: sourceLocation)
    #expect(error.line == line, "\(error)", sourceLocation: sourceLocation)
    if let column {
        #expect(error.column == column, "\(error)", sourceLocation: sourceLocation)
    }
    if line == nil {
        #expect(error.column == nil, "\(error)", sourceLocation: sourceLocation)
    }
    #expect(error.message.contains(message), "\(error)", sourceLocation: sourceLocation)
}

/// The 1-based column where `text` starts on line `line` of `yaml`.
func column(of text: String, line: Int, in yaml: String) -> Int? {
    let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
    guard lines.indices.contains(line - 1), let range = lines[line - 1].range(of: text) else { return nil }
    return lines[line - 1].distance(from: lines[line - 1].startIndex, to: range.lowerBound) + 1
}

/// A small valid brokerless file; line 5 is the echo-1 entry.
let base = """
    topology: brokerless
    registries:
      - { name: registry-1, bind: "tcp://127.0.0.1:5550" }
    services:
      - { name: echo-1, service: echo, bind: "tcp://127.0.0.1:5601" }

    """
