import ArgumentParser
import ZMesh

/// `zmesh nodes --config FILE`: the nodes of a file, one per line, for scripts.
struct NodesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nodes",
        abstract: "List the nodes of a topology file in start order (for scripts).",
        discussion: """
            One line per node, tab-separated: name, role, then the program to run for it if the file \
            names one (executable: and args:), else nothing. Registries come first, then brokers, then \
            services.

            Checks the file on the way: a bad one exits 78 naming the line and key.

            With --etcd, the etcd client URLs of a file that keeps its instances in etcd instead, one \
            per line (nothing for one with registries).
            """)

    /// `--config`.
    @OptionGroup var topologyFile: TopologyFileOptions

    @Flag(name: .long, help: "Print the file's etcd endpoints instead (scripts/mesh-up.sh starts a local etcd for them).")
    var etcd = false

    func run() throws {
        let topology = try topologyFile.loadTopology()
        if etcd {
            for endpoint in topology.etcd?.endpoints ?? [] { print(endpoint) }
            return
        }
        for node in topology.nodes {
            var fields = [node.name, node.role]
            if case .service(let service) = node, let executable = service.executable {
                fields.append(executable)
                fields.append(contentsOf: service.arguments)
            }
            print(fields.joined(separator: "\t"))
        }
    }
}
