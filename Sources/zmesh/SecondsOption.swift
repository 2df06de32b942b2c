import ArgumentParser

/// Checks an option given in seconds: a positive number no larger than a year. NaN, infinity
/// and huge values are refused here with a usage error, rather than crashing later when
/// turned into a `Duration`.
func checkSeconds(_ value: Double, _ flag: String) throws {
    guard value > 0, value.isFinite, value <= 31_536_000 else {
        throw ValidationError("\(flag) must be a number of seconds above 0 and at most a year (31536000), not \(value)")
    }
}
