import Foundation
import ZMesh

/// `zmesh status` as text: a header, a row per service of each instance, then services with
/// no live instance, each broker's view, and the nodes of the file not up.
enum StatusTable {
    static func render(_ answer: LookupReply, topology: Topology, missing: [String],
                       brokers: [(name: String, stats: BrokerStats?)]) -> String {
        var lines = ["mesh \(topology.path) (\(topology.kind.rawValue)); \(answer.registry) answered"]
        var rows: [(service: String, instance: InstanceInfo)] = []
        for instance in answer.instances {
            for service in instance.services { rows.append((service, instance)) }
        }
        rows.sort { a, b in
            if a.service != b.service { return a.service < b.service }
            let aLive = a.instance.health == InstanceInfo.Health.live
            let bLive = b.instance.health == InstanceInfo.Health.live
            if aLive != bLive { return aLive }
            return a.instance.node < b.instance.node
        }
        var table = [["SERVICE", "NODE", "INSTANCE", "ENDPOINT", "HEALTH", "LOAD", "LAST HEARTBEAT"]]
        for (service, instance) in rows {
            table.append([service, instance.node, instance.instance, instance.endpoint, instance.health.rawValue,
                          "\(instance.load)/\(instance.capacity)", "\(instance.lastHeartbeatMillisecondsAgo) ms ago"])
        }
        let widths = (0..<table[0].count).map { column in table.map { $0[column].count }.max() ?? 0 }
        for row in table {
            lines.append(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces))
        }
        let liveServices = Set(rows.filter { $0.instance.health == InstanceInfo.Health.live }.map(\.service))
        for service in topology.serviceNames where !liveServices.contains(service) {
            lines.append("\(service): no live instance")
        }
        for (name, view) in brokers {
            if let view {
                let services = view.readyByService.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                lines.append("\(name): up; reaches \(services.isEmpty ? "no instance" : services); \(view.inFlight) in flight, \(view.queued) queued")
            } else {
                lines.append("\(name): not answering")
            }
        }
        if !missing.isEmpty { lines.append("nodes of the file not up: \(missing.joined(separator: ", "))") }
        return lines.joined(separator: "\n")
    }

    /// The registry's answer as pretty-printed JSON (`--json`).
    static func json(_ answer: LookupReply) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(answer), as: UTF8.self)
    }
}
