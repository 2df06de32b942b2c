import ArgumentParser
import Foundation
import Histogram
import Synchronization
import ZMesh
import ZMeshPrometheus

/// `zmesh bench`: a closed-loop load generator with HdrHistogram percentiles.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure calls/s and latency percentiles against a service.",
        discussion: """
            Keeps --concurrency calls in flight until --requests calls are done (after an untimed
            warm-up), checks every reply against its request, and prints calls/s, p50, p99 and
            p99.9 in microseconds, errors by kind, and this process's RSS at start and end.
            Compare with the raw-libzmq baseline measured in the same run (scripts/bench.sh).
            """)

    @Argument(help: "The name to call, such as echo.")
    var service: String

    @OptionGroup var mesh: MeshOptions

    @Option(name: .long, help: "Timed calls in all.")
    var requests: Int = 100_000

    @Option(name: .long, help: "Calls kept in flight.")
    var concurrency: Int = 1

    @Option(name: .long, help: "Payload bytes per call.")
    var size: Int = 64

    @Option(name: .long, help: "Untimed calls before measuring.")
    var warmup: Int = 1_000

    @Option(name: .long, help: "Seconds each call may take.")
    var timeout: Double = 10

    @Option(name: .long, help: "Stop after this many seconds even if fewer calls are done.")
    var maxSeconds: Double = 120

    @Option(name: .long, help: "Where the calling tasks run: loop (on the client's event loop, no thread hand-off) or pool (the global concurrent executor).")
    var callers: BenchRunner.Callers = .loop

    @Flag(name: .long, help: "Print one JSON object instead of text.")
    var json = false

    @Flag(name: .long, help: "Time every call with ClientMetricsInterceptor into a Prometheus registry, as an instrumented client would (with ZMESH_TRACER=discard also traced): what observability costs.")
    var clientMetrics = false

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard requests >= 1, concurrency >= 1, size >= 0, warmup >= 0 else {
            throw ValidationError("--requests and --concurrency must be at least 1, --size and --warmup at least 0")
        }
        try checkSeconds(timeout, "--timeout")
        try checkSeconds(maxSeconds, "--max-seconds")
    }

    func run() async throws {
        let logger = try logging.makeLogger(label: "zmesh.bench", defaultLevel: .warning)
        if clientMetrics { _ = MeshPrometheus.bootstrap() }
        let client = try mesh.makeClient(logger: logger, metrics: clientMetrics)
        let report = try await BenchRunner(
            client: client, service: service, requests: requests, concurrency: concurrency, size: size,
            warmup: warmup, timeout: .milliseconds(Int64(timeout * 1000)), maxSeconds: maxSeconds,
            showProgress: !json && isatty(2) != 0, callers: callers
        ).run()
        await client.shutdown()
        print(json ? report.json : report.text)
        if report.completed == 0 { throw ExitCode(4) }
    }
}
