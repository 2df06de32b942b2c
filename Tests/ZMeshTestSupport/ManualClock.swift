public import MeshClock

/// A clock that moves only when told to, for the pure state machines' tests: they take the
/// time as an argument, and these tests choose it.
public struct ManualClock: Sendable {
    /// The time now: one second after the clock's zero, so times before it exist.
    public private(set) var now = MonotonicTime(nanoseconds: 1_000_000_000)

    /// A clock at its start.
    public init() {}

    /// Moves the clock on.
    public mutating func advance(by duration: Duration) { now = now.advanced(by: duration) }
}
