/// How a client finds the instances behind a name.
public enum Discovery: Sendable, Equatable {
    /// Fixed service endpoints, each able to serve every name called.
    case endpoints([String])
}
