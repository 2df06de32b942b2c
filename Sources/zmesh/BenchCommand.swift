import ArgumentParser
import Foundation
import Histogram
import Synchronization
import ZMesh
import ZMeshNodeProgram
import ZMeshPrometheus

/// `zmesh bench`: a closed-loop load generator with HdrHistogram percentiles.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure calls/s and latency percentiles against a service.",
        discussion: """
            Keeps --concurrency calls in flight until --requests calls are done (after an untimed \
            warm-up), checks every reply against its request, and prints calls/s, p50, p99 and p99.9 in \
            microseconds, errors by kind, and this process's RSS at start and end. Compare with the \
            raw-libzmq baseline measured in the same run (scripts/bench.sh).

            With --stream, reads one server stream of --requests messages (of --size bytes) from NAME \
            (stream.count) instead, checks they come in order, and prints messages/s and this process's \
            peak RSS; --slow-rate and --slow-seconds read slowly first, to see flow control hold the \
            sender back.

            Examples:

              zmesh bench echo --config topologies/brokerless.yaml --requests 100000 --concurrency 128
              zmesh bench stream.count --stream --requests 1000000 --size 64 --config topologies/brokered.yaml
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

    @Flag(name: .long, help: "Read one server stream (such as stream.count) of --requests messages instead of making calls.")
    var stream = false

    @Option(name: .long, help: "With --stream: the stream's window (messages the sender may send ahead of the reader).")
    var window: Int = 64

    @Option(name: .long, help: "With --stream: read this many messages a second at first (0: as fast as they come).")
    var slowRate: Int = 0

    @Option(name: .long, help: "With --stream and --slow-rate: for this many seconds, then as fast as they come.")
    var slowSeconds: Double = 5

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
        if stream {
            guard window >= 2, window <= Int(UInt16.max), slowRate >= 0 else {
                throw ValidationError("--window must be from 2 to 65535 and --slow-rate at least 0")
            }
            try checkSeconds(slowSeconds, "--slow-seconds")
        }
    }

    func run() async throws {
        let logger = try logging.makeLogger(label: "zmesh.bench", defaultLevel: .warning)
        if clientMetrics { _ = MeshPrometheus.bootstrap() }
        let client = try mesh.makeClient(logger: logger, metrics: clientMetrics)
        if stream { return try await runStream(client) }
        let report = try await BenchRunner(
            client: client, service: service, requests: requests, concurrency: concurrency, size: size,
            warmup: warmup, timeout: .milliseconds(Int64(timeout * 1000)), maxSeconds: maxSeconds,
            showProgress: !json && isatty(2) != 0, callers: callers
        ).run()
        await client.shutdown()
        print(json ? report.json : report.text)
        if report.completed == 0 { throw ExitCode(4) }
    }

    private func runStream(_ client: MeshClient) async throws {
        let bench = StreamBench(client: client, name: service, messages: requests, size: size, window: window,
                                slowRate: slowRate, slowSeconds: slowSeconds, timeout: .milliseconds(Int64(maxSeconds * 1000)))
        let report = await bench.run()
        await client.shutdown()
        let slow = slowRate > 0 ? min(report.received, Int(Double(slowRate) * slowSeconds)) : 0
        let rate = report.rate(after: slow)
        if json {
            let fields: [String: Any] = [
                "mode": "stream", "service": service, "messages": report.received, "size": size, "window": window,
                "in_order": report.inOrder, "seconds": report.seconds, "messages_per_second": rate.rounded(),
                "rss_start_kib": report.rssStartKiB, "rss_peak_kib": report.rssPeakKiB, "rss_end_kib": report.rssEndKiB,
                "cpu_us_per_message": report.received > 0 ? (report.cpuSeconds * 1e6 / Double(report.received) * 1000).rounded() / 1000 : 0,
                "error": report.error ?? NSNull(),
            ]
            print(String(decoding: try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print("\(service) stream: \(report.received) of \(requests) messages of \(size) B, \(report.inOrder ? "in order" : "OUT OF ORDER")"
                  + " in \(String(format: "%.2f", report.seconds)) s (\(Int(rate)) messages/s\(slow > 0 ? " after \(slow) slow" : ""))")
            print("  RSS \(report.rssStartKiB) KiB at start, \(report.rssPeakKiB) KiB at most, \(report.rssEndKiB) KiB at end")
            if let error = report.error { print("  ended with: \(error)") }
        }
        if report.received != requests || !report.inOrder { throw ExitCode(4) }
    }
}
