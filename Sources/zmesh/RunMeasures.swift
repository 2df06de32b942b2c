import Foundation
import Histogram

/// What `bench` and `load` measure the same way: call latencies, this process's memory and CPU.
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

    /// CPU time this process has used so far, user and system, every thread (libzmq's I/O
    /// threads included), in seconds, from getrusage(2).
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}
