import Foundation

/// The start-up contract with `scripts/mesh-up.sh`: when `ZMESH_READY_FILE` is set, a node
/// writes its bound endpoints there once it listens, so the script knows this very process
/// holds its endpoints (another mesh on the same ports does not count).
enum ReadyFile {
    static func announce(_ endpoints: [String]) {
        guard let path = ProcessInfo.processInfo.environment["ZMESH_READY_FILE"], !path.isEmpty else { return }
        let text = endpoints.joined(separator: "\n") + "\n"
        try? text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
