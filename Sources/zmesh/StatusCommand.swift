import ArgumentParser
import Foundation
import Logging
import UnixSignals
import ZMesh
import ZMeshNodeProgram

/// `zmesh status --config FILE`: every service, its instances, health, load, last heartbeat.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each service, its instances, their health, load and last heartbeat.",
        discussion: """
            Asks any live registry of the file (or its etcd), and each broker of the file.

            With --wait, waits until every node of the file is up (each service node live in \
            the registry, each broker reaching an instance of every service), then prints; \
            exits 4 naming the nodes still missing if they are not up in time \
            (scripts/mesh-up.sh uses this).

            With --watch, prints the status again every --interval seconds (default 2) until \
            Ctrl-C (SIGINT) or SIGTERM, then exits 0; on a terminal each refresh replaces the \
            last. A registry that does not answer is reported on stderr and asked again.

            Examples:

              zmesh status --config topologies/brokerless.yaml
              zmesh status --watch --interval 1 --config topologies/brokered.yaml
              zmesh status --wait 30 --config topologies/ha.yaml
            """)

    /// `--config`.
    @OptionGroup var topologyFile: TopologyFileOptions

    @Option(name: .long, help: "Wait up to this many seconds for every node of the file to be up.")
    var wait: Double?

    @Flag(name: .long, help: "Print the status again every --interval seconds, until Ctrl-C.")
    var watch = false

    @Option(name: .long, help: "Seconds between refreshes with --watch (default 2).")
    var interval: Double?

    @Flag(name: .long, help: "Print the registry's answer as JSON; a failure as one JSON object on stderr.")
    var json = false

    @Option(name: .long, help: "With CURVE on: the client key pair to use ($ZMESH_CLIENT_KEY; default: the file's first client).")
    var key: String?

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if let wait { try checkSeconds(wait, "--wait") }
        if let interval {
            guard watch else { throw ValidationError("--interval goes with --watch") }
            try checkSeconds(interval, "--interval")
            guard interval >= 0.1 else { throw ValidationError("--interval \(interval): at least 0.1 seconds") }
        }
        if watch && wait != nil { throw ValidationError("give either --watch or --wait, not both") }
    }

    func run() async throws {
        let topology = try topologyFile.loadTopology()
        let logger = try logging.makeLogger(label: "zmesh.status", defaultLevel: .error)
        let probe = try StatusProbe(topology: topology, curve: try topology.commandLineCurve(key: key), logger: logger)
        if watch {
            await Self.watch(probe, every: .milliseconds(Int64((interval ?? 2) * 1000)), json: json)
            await probe.shutdown()
            return
        }
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int64((wait ?? 0) * 1000)))
        var view: StatusProbe.View
        repeat {
            view = await probe.look()
            if wait == nil || (view.failure == nil && view.missing.isEmpty) { break }
            try await Task.sleep(for: .milliseconds(100))
        } while ContinuousClock.now < deadline
        await probe.shutdown()

        guard let answer = view.answer else {
            throw view.failure.map { failure($0, json: json) } ?? ExitCode(4)
        }
        print(json ? try StatusTable.json(answer)
                   : StatusTable.render(answer, topology: topology, missing: view.missing, brokers: view.brokers))
        if wait != nil && !view.missing.isEmpty {
            printError("zmesh: not up after \(wait ?? 0) s: \(view.missing.joined(separator: ", "))")
            throw ExitCode(4)
        }
    }

    /// Looks and prints every `interval` until SIGINT or SIGTERM. Each refresh is written at
    /// once (not left in a buffer when stdout is a pipe); on a terminal it clears the screen
    /// first.
    private static func watch(_ probe: StatusProbe, every interval: Duration, json: Bool) async {
        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
        let clear = isatty(1) != 0 ? "\u{1B}[H\u{1B}[2J" : ""
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in signals { return }
            }
            group.addTask {
                while !Task.isCancelled {
                    let view = await probe.look()
                    if let answer = view.answer {
                        let text = json ? ((try? StatusTable.json(answer)) ?? "{}")
                                        : StatusTable.render(answer, topology: probe.topology, missing: view.missing,
                                                             brokers: view.brokers)
                        FileHandleOutput.write(clear + text + "\n\n", to: 1)
                    } else if let failure = view.failure {
                        printError(json ? ErrorReport(failure).line : "zmesh: \(failure)")
                    }
                    try? await Task.sleep(for: interval)
                }
            }
            await group.next()
            group.cancelAll()
        }
    }
}
