import ArgumentParser
import ZMesh

/// `--config` for the commands that need a topology file and nothing else of ``MeshOptions``
/// (`node`, `nodes`, `status`); `$ZMESH_CONFIG` when it is not given.
struct TopologyFileOptions: ParsableArguments {
    /// `--config`.
    @Option(name: .long, help: "The topology file ($ZMESH_CONFIG).")
    var config: String?

    /// The topology file, loaded; a usage error if none is named, and exit 78 with the
    /// file's line and key on a bad one.
    func loadTopology() throws -> Topology {
        let options = try MeshOptions.parse(config.map { ["--config", $0] } ?? [])
        guard let topology = try options.loadTopology() else {
            throw ValidationError("say which topology file: --config FILE")
        }
        return topology
    }
}
