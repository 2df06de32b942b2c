import Foundation
import Histogram

/// What `bench` and `load` measure the same way: call latencies and this process's memory.
enum RunMeasures {
    /// An empty histogram of call latencies in nanoseconds: up to a minute, three significant digits.
    static func latencyHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    }

    /// This process's resident set size in KiB, from /proc/self/status.
    static func residentKiB() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        }
        return 0
    }
}
