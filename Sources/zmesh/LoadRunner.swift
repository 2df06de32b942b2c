import Synchronization
import ZMesh
import ZeroMQ
import MeshClock

/// Runs a mixed closed-loop load by name for a fixed time: `concurrency` workers each pick
/// an operation from the mix, call, check the reply, and go again.
///
/// Every request is unique (a run id, the worker and a sequence number), so every reply can
/// be checked exactly:
/// - `echo` must return its payload;
/// - `echo.count KEY` must return "1" (a fresh key counted once on the instance that ran it;
///   any larger number means the call ran twice there);
/// - `kv.put KEY=VALUE` must return "OK", then `kv.get KEY` the value, then `kv.delete KEY`
///   "OK" (the delete keeps the store's memory flat over a long run);
/// - `unknown` calls a made-up name, new each time, and must fail with `unavailable` or
///   `notFound` (a gateway passing its callers' names on: the client keeps nothing per name).
///
/// New operations start until `seconds` have passed (or `maxOperations` have started); calls
/// then in flight run to their end (at most one call timeout more), so the run is bounded in time.
struct LoadRunner {
    /// The client every call goes through; its loop runs the callers.
    let client: MeshClient
    /// Seconds to keep starting operations.
    let seconds: Double
    /// Callers, each with one call in flight at a time.
    let concurrency: Int
    /// Seconds between progress snapshots.
    let reportEvery: Double
    /// Options of every call (timeout, idempotent, attempts).
    let options: CallOptions
    /// Which operations, how often.
    let mix: LoadMix
    /// Most operations to start in all, if bounded.
    var maxOperations: Int?
    /// Called with each progress snapshot, from a task off the client's loop.
    let onProgress: @Sendable (LoadProgress) -> Void

    /// Runs the load to its end and returns the totals.
    func run() async -> LoadSummary {
        let tally = LoadTally()
        let rssStart = RunMeasures.residentKiB()
        let started = MonotonicTime.now()
        let end = started.advanced(by: .milliseconds(Int64(seconds * 1000)))
        let runID = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let client = client, concurrency = concurrency, options = options, mix = mix, maxOperations = maxOperations
        let reportEvery = reportEvery, onProgress = onProgress

        await withTaskGroup(of: Void.self) { group in
            // Progress: off the loop, so formatting and printing never delay calls.
            group.addTask {
                var last = LoadProgress.Mark(time: started, calls: 0)
                while !tally.finished.load(ordering: .acquiring) {
                    let next = last.time.advanced(by: .milliseconds(Int64(reportEvery * 1000)))
                    // Sleep in short steps so the end of the load is noticed promptly.
                    while !tally.finished.load(ordering: .acquiring), MonotonicTime.now() < next {
                        try? await Task.sleep(for: .milliseconds(min(100, max(1, MonotonicTime.now().nanoseconds(until: next) / 1_000_000))))
                    }
                    if tally.finished.load(ordering: .acquiring) { break }
                    let stats = await client.stats()
                    let progress = tally.progress(since: last, started: started, retries: stats.retries,
                                                  rssKiB: RunMeasures.residentKiB())
                    last = progress.mark
                    onProgress(progress)
                }
            }
            // The callers: on the client's loop, so calls start and resume with no thread hand-off.
            group.addTask {
                await withTaskExecutorPreference(client.taskExecutor) {
                    await withTaskGroup(of: Void.self) { workers in
                        for worker in 0..<concurrency {
                            workers.addTask {
                                var caller = LoadCaller(client: client, options: options, tally: tally,
                                                        prefix: "\(runID)-\(worker)", end: end, maxOperations: maxOperations,
                                                        random: SplitMix64(seed: UInt64.random(in: 0...UInt64.max)))
                                await caller.run(mix: mix)
                            }
                        }
                    }
                }
                tally.finished.store(true, ordering: .releasing)
            }
        }
        let elapsed = Double(started.nanoseconds(until: .now())) / 1e9
        let stats = await client.stats()
        return tally.summary(elapsed: elapsed, retries: stats.retries, lateReplies: stats.lateReplies,
                             rssStartKiB: rssStart, rssEndKiB: RunMeasures.residentKiB())
    }
}

/// The weighted mix of operations, parsed from `echo=5,count=3,kv=2`.
struct LoadMix: Sendable, CustomStringConvertible {
    /// One kind of operation the load makes.
    enum Operation: String, CaseIterable, Sendable {
        /// `echo` with a unique payload, which must come back unchanged.
        case echo
        /// `echo.count` with a unique key, which must answer "1".
        case count
        /// `kv.put`, `kv.get` and `kv.delete` of a unique key (three calls).
        case kv
        /// A made-up name, new each call, which must fail `unavailable` or `notFound`.
        case unknown
    }

    /// Each operation's weight; zero weights are left out.
    let weights: [(Operation, Int)]
    private let total: Int

    /// The default: half echo, 30 % echo.count, 20 % kv sequences.
    static let standard = LoadMix(weights: [(.echo, 5), (.count, 3), (.kv, 2)])

    private init(weights: [(Operation, Int)]) {
        self.weights = weights.filter { $0.1 > 0 }
        total = self.weights.reduce(0) { $0 + $1.1 }
    }

    /// Parses `NAME=WEIGHT,...` with names echo, count and kv, or says what is wrong with it.
    static func parse(_ text: String) -> Result<LoadMix, LoadMixError> {
        var weights: [(Operation, Int)] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pair = part.split(separator: "=", omittingEmptySubsequences: false)
            guard pair.count == 2, let operation = Operation(rawValue: pair[0].trimmingSpaces),
                  let weight = Int(pair[1].trimmingSpaces), weight >= 0 else {
                let names = Operation.allCases.map(\.rawValue).joined(separator: ", ")
                return .failure(LoadMixError(message: "expected NAME=WEIGHT with NAME one of \(names) and WEIGHT a whole number, got \"\(part)\""))
            }
            guard !weights.contains(where: { $0.0 == operation }) else {
                return .failure(LoadMixError(message: "\(operation.rawValue) is given twice"))
            }
            weights.append((operation, weight))
        }
        let mix = LoadMix(weights: weights)
        guard mix.total > 0 else { return .failure(LoadMixError(message: "at least one weight must be above 0")) }
        return .success(mix)
    }

    /// Picks an operation with probability proportional to its weight.
    func pick(_ random: inout SplitMix64) -> Operation {
        var roll = Int(random.next() % UInt64(total))
        for (operation, weight) in weights {
            if roll < weight { return operation }
            roll -= weight
        }
        return weights[weights.count - 1].0
    }

    /// The mix as `--mix` takes it.
    var description: String { weights.map { "\($0.0.rawValue)=\($0.1)" }.joined(separator: ",") }
}

/// A `--mix` value that does not parse.
struct LoadMixError: Error, CustomStringConvertible {
    /// What is wrong with it.
    let message: String
    /// The message.
    var description: String { message }
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}

/// One worker: makes operations until the end time, recording each call's outcome.
private struct LoadCaller {
    let client: MeshClient
    let options: CallOptions
    let tally: LoadTally
    let prefix: String
    let end: MonotonicTime
    let maxOperations: Int?
    var random: SplitMix64
    var sequence = 0

    /// What a reply must be.
    enum Expectation {
        /// Exactly these bytes.
        case exactly([UInt8])
        /// "1": the call ran once on its instance.
        case countedOnce
        /// No reply: the error `unavailable` or `notFound` (nobody serves the name).
        case noSuchName
    }

    mutating func run(mix: LoadMix) async {
        while MonotonicTime.now() < end, tally.startOperation(limit: maxOperations) {
            sequence += 1
            switch mix.pick(&random) {
            case .echo:
                let payload = Array("echo-\(prefix)-\(sequence)".utf8)
                _ = await call("echo", payload, .exactly(payload))
            case .count:
                _ = await call("echo.count", Array("count-\(prefix)-\(sequence)".utf8), .countedOnce)
            case .kv:
                // Each step only if the one before ended right (a get after a failed put proves
                // nothing) and the time is not up (keeps the run bounded by one call timeout).
                let key = "kv-\(prefix)-\(sequence)"
                let value = Array("value-\(sequence)-\(random.next() % 1_000_000)".utf8)
                guard await call("kv.put", Array("\(key)=".utf8) + value, .exactly(Array("OK".utf8))),
                      MonotonicTime.now() < end,
                      await call("kv.get", Array(key.utf8), .exactly(value)),
                      MonotonicTime.now() < end else { continue }
                _ = await call("kv.delete", Array(key.utf8), .exactly(Array("OK".utf8)))
            case .unknown:
                _ = await call("unknown-\(prefix)-\(sequence)", [], .noSuchName, countedAs: "unknown")
            }
        }
    }

    /// Makes one call and records how it ended; true if it got its correct reply.
    /// `countedAs` names it in the tally (made-up names are counted together).
    private func call(_ name: String, _ payload: [UInt8], _ expectation: Expectation, countedAs: String? = nil) async -> Bool {
        let started = MonotonicTime.now()
        let outcome: LoadTally.Outcome
        do {
            let reply = try await client.call(name, payload, options: options)
            switch expectation {
            case .exactly(let expected):
                outcome = reply == expected ? .ok(latency: started.nanoseconds(until: .now())) : .wrong(ranTwice: false)
            case .noSuchName:
                outcome = .wrong(ranTwice: false)
            case .countedOnce:
                let count = Int(String(decoding: reply, as: UTF8.self))
                if count == 1 {
                    outcome = .ok(latency: started.nanoseconds(until: .now()))
                } else {
                    outcome = .wrong(ranTwice: (count ?? 0) > 1)
                }
            }
        } catch where expectation.isNoSuchName && (error.code == .unavailable || error.code == .notFound) {
            outcome = .ok(latency: started.nanoseconds(until: .now()))
        } catch {
            outcome = .failed(error.code)
        }
        tally.record(outcome, name: countedAs ?? name)
        if case .ok = outcome { return true }
        return false
    }
}

extension LoadCaller.Expectation {
    fileprivate var isNoSuchName: Bool {
        if case .noSuchName = self { return true }
        return false
    }
}
