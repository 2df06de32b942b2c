import Foundation

/// The start-up contract with `scripts/mesh-up.sh` and `scripts/soak.sh`: when
/// `ZMESH_READY_FILE` is set, a node writes its bound endpoints there once it listens, so the
/// script knows this very process holds its endpoints (another mesh on the same ports does not
/// count).
///
/// The ZMesh library reads no environment variable: a node tells its caller it listens through
/// its configuration's `onListening` (or `MeshNode.make`'s), and a program that scripts start
/// passes this:
///
/// ```swift
/// let node = try MeshNode.make(named: arguments.node, in: topology, handlers: handlers,
///                              logger: logger, onListening: ReadyFile.announce)
/// ```
public enum ReadyFile {
    /// The environment variable naming the file: `ZMESH_READY_FILE`.
    public static let environmentVariable = "ZMESH_READY_FILE"

    /// Writes `endpoints`, one a line, to the file `$ZMESH_READY_FILE` names (atomically, so a
    /// script never reads half of it); does nothing when the variable is unset or empty, or
    /// the file cannot be written (the script then reports the node as not ready).
    public static func announce(_ endpoints: [String]) {
        guard let path = ProcessInfo.processInfo.environment[environmentVariable], !path.isEmpty else { return }
        let text = endpoints.joined(separator: "\n") + "\n"
        try? text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
