import Histogram
import Synchronization
import ZMesh
import ZeroMQ
import MeshClock

/// The counters every worker adds to; the progress task reads and resets the period's part.
final class LoadTally: Sendable {
    /// How one call ended.
    enum Outcome {
        /// The correct reply, after this many nanoseconds.
        case ok(latency: UInt64)
        /// A reply that is not the correct one; `ranTwice` when an `echo.count` answered above 1.
        case wrong(ranTwice: Bool)
        /// A ``MeshError``.
        case failed(MeshError.Code)
    }

    /// Set once every worker has returned.
    let finished = Atomic<Bool>(false)
    /// Operations started so far.
    private let operations = Atomic<Int>(0)

    /// Counts one more operation; false (and counts nothing) once `limit` have started.
    func startOperation(limit: Int?) -> Bool {
        guard let limit else { return true }
        return operations.wrappingAdd(1, ordering: .relaxed).newValue <= limit
    }
    private let state = Mutex(State())

    private struct State: ~Copyable {
        var calls = 0
        var ok = 0
        var wrong = 0
        var ranTwice = 0
        var errors: [String: Int] = [:]
        var byName: [String: LoadCounts.PerName] = [:]
        var overall = RunMeasures.latencyHistogram()
        var period = RunMeasures.latencyHistogram()
    }

    /// Counts one ended call of `name`.
    func record(_ outcome: Outcome, name: String) {
        state.withLock { state in
            state.calls += 1
            state.byName[name, default: LoadCounts.PerName()].calls += 1
            switch outcome {
            case .ok(let latency):
                state.ok += 1
                let clamped = min(latency, state.overall.highestTrackableValue)
                _ = state.overall.record(clamped)
                _ = state.period.record(clamped)
            case .wrong(let ranTwice):
                state.wrong += 1
                if ranTwice { state.ranTwice += 1 }
                state.byName[name, default: LoadCounts.PerName()].lost += 1
            case .failed(let code):
                state.errors[code.rawValue, default: 0] += 1
                state.byName[name, default: LoadCounts.PerName()].lost += 1
            }
        }
    }

    /// The totals so far and the period since `last`; starts a new period.
    func progress(since last: LoadProgress.Mark, started: MonotonicTime, retries: UInt64, rssKiB: Int) -> LoadProgress {
        let now = MonotonicTime.now()
        return state.withLock { state in
            let period = Double(last.time.nanoseconds(until: now)) / 1e9
            let progress = LoadProgress(
                elapsed: Double(started.nanoseconds(until: now)) / 1e9,
                counts: LoadCounts(calls: state.calls, ok: state.ok, errors: state.errors, wrong: state.wrong, ranTwice: state.ranTwice, byName: state.byName),
                callsPerSecond: period > 0 ? Double(state.calls - last.calls) / period : 0,
                periodP99Microseconds: state.period.totalCount > 0 ? Double(state.period.valueAtPercentile(99)) / 1000 : nil,
                retries: retries, rssKiB: rssKiB,
                mark: LoadProgress.Mark(time: now, calls: state.calls))
            state.period.reset()
            return progress
        }
    }

    /// The totals at the end.
    func summary(elapsed: Double, retries: UInt64, lateReplies: UInt64, rssStartKiB: Int, rssEndKiB: Int) -> LoadSummary {
        state.withLock { state in
            LoadSummary(
                elapsed: elapsed,
                counts: LoadCounts(calls: state.calls, ok: state.ok, errors: state.errors, wrong: state.wrong, ranTwice: state.ranTwice, byName: state.byName),
                histogram: state.overall, retries: retries, lateReplies: lateReplies,
                rssStartKiB: rssStartKiB, rssEndKiB: rssEndKiB)
        }
    }
}

/// Call counts: every call made ends in exactly one of ok, an error, or a wrong reply.
struct LoadCounts: Sendable {
    /// Calls made (each ended, in one of the ways below).
    let calls: Int
    /// Calls that got their correct reply.
    let ok: Int
    /// Calls that ended in a ``MeshError``, by ``MeshError/Code`` raw value.
    let errors: [String: Int]
    /// Calls whose reply was not the correct one (`ranTwice` included).
    let wrong: Int
    /// `echo.count` calls answered with a count above 1: the call ran twice on one instance.
    let ranTwice: Int

    /// Calls and lost calls per called name (`echo`, `echo.count`, `kv.put`, ...).
    let byName: [String: PerName]

    /// Every call that did not end in its correct reply: errors plus wrong replies.
    var lost: Int { errors.values.reduce(0, +) + wrong }

    /// The calls of one name.
    struct PerName: Sendable {
        /// Calls made.
        var calls = 0
        /// Calls that did not end in their correct reply.
        var lost = 0
    }
}

/// A snapshot every `--report-every` seconds.
struct LoadProgress: Sendable {
    /// Where a period started.
    struct Mark: Sendable {
        let time: MonotonicTime
        let calls: Int
    }

    /// Seconds since the load started.
    let elapsed: Double
    /// Totals so far.
    let counts: LoadCounts
    /// Calls ended per second over the last period.
    let callsPerSecond: Double
    /// p99 latency of the correct replies of the last period, if it had any.
    let periodP99Microseconds: Double?
    /// The client's re-sends so far (after an instance or broker died).
    let retries: UInt64
    /// This process's resident set size now, in KiB.
    let rssKiB: Int
    /// The end of this period: the start of the next.
    let mark: Mark
}

/// The totals of a whole run.
struct LoadSummary: Sendable {
    /// Seconds from the start to the last call's end.
    let elapsed: Double
    /// Totals.
    let counts: LoadCounts
    /// Latencies of the calls that got their correct reply.
    let histogram: Histogram<UInt64>
    /// The client's re-sends after an instance or broker died.
    let retries: UInt64
    /// Replies that came after their call had ended (a retry's twin, or after a timeout).
    let lateReplies: UInt64
    /// This process's resident set size at the start, in KiB.
    let rssStartKiB: Int
    /// And at the end.
    let rssEndKiB: Int

    /// A percentile of the latency, in microseconds (0 with no correct reply).
    func microseconds(_ percentile: Double) -> Double {
        histogram.totalCount > 0 ? Double(histogram.valueAtPercentile(percentile)) / 1000 : 0
    }
}
