import ArgumentParser
import Foundation
import ZMesh
import ZeroMQ

/// `zmesh keygen`: CURVE key pairs, written with safe permissions.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Write CURVE key pairs (NAME.key with mode 0600, NAME.pub) for nodes and clients.",
        discussion: """
            With --config, makes a key pair for every node and every client the file names, in the \
            file's security.keys directory, skipping those that exist. With names and --dir, makes \
            those. See docs/SECURITY.md.

            Examples:

              zmesh keygen --config topologies/secure.yaml
              zmesh keygen ops --dir topologies/keys
            """)

    @Argument(help: "Names to make key pairs for (with --dir).")
    var names: [String] = []

    @Option(name: .long, help: "A topology file whose nodes and clients need keys.")
    var config: String?

    @Option(name: .long, help: "Where to write the key files (with names).")
    var dir: String?

    @Flag(name: .long, help: "Replace existing key pairs.")
    var force = false

    func validate() throws {
        if config == nil && (names.isEmpty || dir == nil) {
            throw ValidationError("give --config FILE, or names and --dir DIR")
        }
        if config != nil && !names.isEmpty { throw ValidationError("give either --config or names, not both") }
    }

    func run() throws {
        let store: KeyStore
        let wanted: [String]
        if let config {
            let options = try MeshOptions.parse(["--config", config])
            guard let topology = try options.loadTopology() else { return }
            guard let keys = topology.keyStore, let security = topology.security else {
                printError("zmesh: \(config) does not turn CURVE on (security: { curve: true, keys: keys, clients: [...] })")
                throw ExitCode(ExitCodes.configuration)
            }
            store = keys
            wanted = topology.nodes.map(\.name) + security.clients
        } else {
            store = KeyStore(directory: dir ?? "keys")
            wanted = names
        }
        do {
            for name in wanted {
                if store.hasKeyPair(name) && !force {
                    print("kept    \(store.secretFile(name)) (exists; --force replaces it)")
                    continue
                }
                try store.write(try CurveKeyPair.generate(), for: name)
                print("wrote   \(store.secretFile(name)) (0600) and \(store.publicFile(name))")
            }
        } catch {
            printError("zmesh: \(error)")
            throw ExitCode(ExitCodes.configuration)
        }
    }
}
