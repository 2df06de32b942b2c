import ArgumentParser
import Foundation
import ZMesh
import ZMeshNodeProgram

/// `zmesh load`: a mixed closed-loop load by name for a fixed time, every reply checked.
struct LoadCommand: AsyncParsableCommand {
    /// The name, help and discussion.
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Run a mixed load by name for a fixed time, checking every reply (for soak tests).",
        discussion: """
            Keeps --concurrency calls in flight for --seconds, each operation picked from --mix:

              echo     echo with a unique payload: the reply must be the payload
              count    echo.count with a unique key: the reply must be "1"; a larger number means the call ran twice on one instance (ran_twice)
              kv       kv.put KEY=VALUE ("OK"), kv.get KEY (VALUE), kv.delete KEY ("OK")
              unknown  a made-up name, new each call: the answer must be the error unavailable or notFound (the client keeps nothing per name)

            Every call is idempotent and has --timeout. Prints a progress line every --report-every \
            seconds, then a summary: calls, ok, errors by kind, wrong replies (ran_twice among them), \
            lost (every call that did not end in its correct reply: errors plus wrong replies), latency \
            percentiles of the correct replies, and this process's RSS at start and end.

            No operation starts after --seconds, or after --operations have started; calls then in \
            flight end within --timeout. Progress lines show this process's RSS. Exits 0 if no call was \
            lost and none ran twice, else 1. scripts/soak.sh runs it while killing and restarting nodes.
            """)

    /// `--config` or `--endpoint`.
    @OptionGroup var mesh: MeshOptions

    /// `--seconds`.
    @Option(name: .long, help: "Seconds to keep starting calls.")
    var seconds: Double

    /// `--operations`.
    @Option(name: .long, help: "Stop after starting this many operations (a kv operation is three calls); --seconds still bounds the run.")
    var operations: Int?

    /// `--concurrency`.
    @Option(name: .long, help: "Calls kept in flight.")
    var concurrency: Int = 32

    /// `--report-every`.
    @Option(name: .long, help: "Seconds between progress lines.")
    var reportEvery: Double = 5

    /// `--timeout`.
    @Option(name: .long, help: "Seconds each call may take, retries included.")
    var timeout: Double = 10

    /// `--max-attempts`.
    @Option(name: .long, help: "Most times a call is sent in all, first try included.")
    var maxAttempts: Int = CallOptions().maxAttempts

    /// `--mix`.
    @Option(name: .long, help: "Weights of the operations, NAME=WEIGHT with NAME echo, count, kv or unknown.")
    var mix: String = LoadMix.standard.description

    /// `--json`.
    @Flag(name: .long, help: "Print one JSON object per line instead of text.")
    var json = false

    /// `--log-level`.
    @OptionGroup var logging: LoggingOptions

    /// Rejects values that make no sense before anything starts.
    func validate() throws {
        try checkSeconds(seconds, "--seconds")
        if let operations, operations < 1 { throw ValidationError("--operations must be at least 1") }
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
        try checkSeconds(reportEvery, "--report-every")
        try checkSeconds(timeout, "--timeout")
        guard maxAttempts >= 1 else { throw ValidationError("--max-attempts must be at least 1") }
        if case .failure(let error) = LoadMix.parse(mix) { throw ValidationError("--mix: \(error)") }
    }

    /// Runs the load, prints progress and the summary, exits 1 if a call was lost or ran twice.
    func run() async throws {
        let logger = try logging.makeLogger(label: "zmesh.load", defaultLevel: .warning)
        let loadMix: LoadMix
        switch LoadMix.parse(mix) {
        case .success(let parsed): loadMix = parsed
        case .failure(let error): throw ValidationError("--mix: \(error)")
        }
        let client = try mesh.makeClient(logger: logger)
        let json = json
        let summary = await LoadRunner(
            client: client, seconds: seconds, concurrency: concurrency, reportEvery: reportEvery,
            options: CallOptions(timeout: .milliseconds(Int64(timeout * 1000)), idempotent: true, maxAttempts: maxAttempts),
            mix: loadMix, maxOperations: operations,
            onProgress: { progress in FileHandleOutput.write((json ? progress.json : progress.text) + "\n", to: 1) }
        ).run()
        await client.shutdown()
        FileHandleOutput.write((json ? summary.json(settings: settings(loadMix)) : summary.text(settings: settings(loadMix))) + "\n", to: 1)
        if summary.counts.calls == 0 {
            printError("zmesh load: no call was made")
            throw ExitCode(1)
        }
        if summary.counts.lost > 0 || summary.counts.ranTwice > 0 { throw ExitCode(1) }
    }

    private func settings(_ loadMix: LoadMix) -> LoadSummary.Settings {
        LoadSummary.Settings(seconds: seconds, concurrency: concurrency, timeout: timeout, maxAttempts: maxAttempts, mix: loadMix.description)
    }
}

extension LoadCounts {
    /// Errors as a JSON object, kinds in order.
    fileprivate var errorsJSON: String {
        "{" + errors.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}"
    }

    /// Errors as words: `none`, or `timeout 2, unavailable 1`.
    fileprivate var errorsText: String {
        errors.isEmpty ? "none" : errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }

    /// Calls and lost calls per name as a JSON object.
    fileprivate var byNameJSON: String {
        "{" + byName.sorted { $0.key < $1.key }.map { "\"\($0.key)\":{\"calls\":\($0.value.calls),\"lost\":\($0.value.lost)}" }
            .joined(separator: ",") + "}"
    }

    /// Calls per name as words: `echo 10 (lost 0), ...`.
    fileprivate var byNameText: String {
        byName.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.calls)" + ($0.value.lost > 0 ? " (lost \($0.value.lost))" : "") }
            .joined(separator: ", ")
    }

    /// The count fields shared by progress lines and the summary.
    fileprivate var jsonFields: String {
        "\"calls\":\(calls),\"ok\":\(ok),\"errors\":\(errorsJSON),\"wrong\":\(wrong),\"ran_twice\":\(ranTwice),\"lost\":\(lost)"
    }
}

extension LoadProgress {
    /// One JSON object: `{"type":"progress","elapsed_s":...}`.
    var json: String {
        let p99 = periodP99Microseconds.map { String(format: "%.1f", $0) } ?? "null"
        return String(format: "{\"type\":\"progress\",\"elapsed_s\":%.3f,", elapsed) + counts.jsonFields
            + ",\"retries\":\(retries)" + String(format: ",\"calls_per_s\":%.0f", callsPerSecond) + ",\"p99_us\":\(p99)"
            + ",\"rss_kib\":\(rssKiB)}"
    }

    /// One line of text.
    var text: String {
        let p99 = periodP99Microseconds.map { String(format: "%.0f us", $0) } ?? "-"
        return String(format: "%7.1f s", elapsed)
            + "  calls \(counts.calls)  ok \(counts.ok)  lost \(counts.lost) (errors: \(counts.errorsText); wrong \(counts.wrong))"
            + "  ran twice \(counts.ranTwice)  retries \(retries)"
            + String(format: "  %.0f calls/s", callsPerSecond) + "  p99 \(p99)  RSS \(rssKiB) KiB"
    }
}

extension LoadSummary {
    /// The options the run had, echoed in the summary.
    struct Settings {
        /// `--seconds`.
        let seconds: Double
        /// `--concurrency`.
        let concurrency: Int
        /// `--timeout`.
        let timeout: Double
        /// `--max-attempts`.
        let maxAttempts: Int
        /// `--mix`.
        let mix: String
    }

    /// One JSON object: `{"type":"summary",...}`.
    func json(settings: Settings) -> String {
        String(format: "{\"type\":\"summary\",\"seconds\":%g,\"concurrency\":%d,\"timeout_s\":%g,\"max_attempts\":%d,\"mix\":\"%@\",\"elapsed_s\":%.3f,",
               settings.seconds, settings.concurrency, settings.timeout, settings.maxAttempts, settings.mix, elapsed)
            + counts.jsonFields + ",\"by_name\":\(counts.byNameJSON),\"retries\":\(retries),\"late_replies\":\(lateReplies)"
            + String(format: ",\"calls_per_s\":%.0f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f,\"rss_start_kib\":%d,\"rss_end_kib\":%d}",
                     elapsed > 0 ? Double(counts.calls) / elapsed : 0, microseconds(50), microseconds(99), microseconds(99.9),
                     histogram.totalCount > 0 ? Double(histogram.max) / 1000 : 0, rssStartKiB, rssEndKiB)
    }

    /// A few lines of text.
    func text(settings: Settings) -> String {
        [
            String(format: "load: %d calls in %.1f s (%.0f calls/s), concurrency %d, mix %@",
                   counts.calls, elapsed, elapsed > 0 ? Double(counts.calls) / elapsed : 0, settings.concurrency, settings.mix),
            "  by name: \(counts.byNameText)",
            "  ok \(counts.ok)   lost \(counts.lost)   errors: \(counts.errorsText)   wrong replies \(counts.wrong)   ran twice \(counts.ranTwice)",
            String(format: "  p50 %.0f us   p99 %.0f us   p99.9 %.0f us   max %.0f us (correct replies)",
                   microseconds(50), microseconds(99), microseconds(99.9), histogram.totalCount > 0 ? Double(histogram.max) / 1000 : 0),
            "  retries \(retries)   late replies \(lateReplies)   RSS \(rssStartKiB) KiB at start, \(rssEndKiB) KiB at end",
            counts.lost == 0 && counts.ranTwice == 0 ? "  PASS: no call lost, none ran twice" : "  FAIL: \(counts.lost) call(s) lost, \(counts.ranTwice) ran twice",
        ].joined(separator: "\n")
    }
}
