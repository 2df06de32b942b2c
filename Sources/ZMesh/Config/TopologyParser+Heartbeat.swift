import Yams

/// The `heartbeat` section: the interval between heartbeats and how many an instance may miss.
extension TopologyParser {
    static let heartbeatKeys = ["interval_ms", "liveness"]
    static let intervalRange = 10...60_000
    static let livenessRange = 1...100

    func parseHeartbeat(_ node: Node?) throws(TopologyError) -> Topology.Heartbeat {
        var heartbeat = Topology.Heartbeat()
        guard let section = try section(node, key: "heartbeat", example: "{ interval_ms: 500, liveness: 3 }",
                                        allowed: Self.heartbeatKeys) else { return heartbeat }
        if let value = section.value("interval_ms"), !isNull(value) {
            let milliseconds = try integer(value, key: section.path("interval_ms"), in: Self.intervalRange)
            heartbeat.interval = .milliseconds(milliseconds)
        }
        if let value = section.value("liveness"), !isNull(value) {
            heartbeat.liveness = try integer(value, key: section.path("liveness"), in: Self.livenessRange)
        }
        return heartbeat
    }
}
