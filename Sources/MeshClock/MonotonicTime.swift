#if canImport(Glibc)
import Glibc
#endif

/// Nanoseconds on the monotonic clock: cheap to read, compare and subtract on hot paths.
public struct MonotonicTime: Comparable, Hashable, Sendable {
    /// Nanoseconds since an arbitrary fixed point.
    public let nanoseconds: UInt64

    /// The instant `nanoseconds` after the clock's fixed point.
    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    /// Now.
    @inline(__always)
    public static func now() -> MonotonicTime {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return MonotonicTime(nanoseconds: UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec))
    }

    /// The instant `duration` after this one (saturating).
    public func advanced(by duration: Duration) -> MonotonicTime {
        let ns = duration.nanosecondsClamped
        if ns <= 0 { return MonotonicTime(nanoseconds: nanoseconds &- min(UInt64(-ns), nanoseconds)) }
        let (sum, overflow) = nanoseconds.addingReportingOverflow(UInt64(ns))
        return MonotonicTime(nanoseconds: overflow ? .max : sum)
    }

    /// Nanoseconds from `self` until `later`, 0 if `later` is not later.
    public func nanoseconds(until later: MonotonicTime) -> UInt64 {
        later.nanoseconds > nanoseconds ? later.nanoseconds - nanoseconds : 0
    }

    /// Earlier than.
    public static func < (lhs: MonotonicTime, rhs: MonotonicTime) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    /// A time further away than any deadline.
    public static let distantFuture = MonotonicTime(nanoseconds: .max)
}

extension Duration {
    /// Whole nanoseconds, clamped to Int64.
    public var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (total, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        if overflow2 { return seconds < 0 ? .min : .max }
        return total
    }

    /// Whole milliseconds, clamped to Int64.
    public var millisecondsClamped: Int64 { nanosecondsClamped / 1_000_000 }
}
