import Foundation

/// What a service node tells registries in each HEARTBEAT (and in DISCONNECT): JSON in the
/// message body. See docs/PROTOCOL.md.
struct Announcement: Codable, Sendable, Equatable {
    /// Unique per process start (node name and a random suffix), so a restart is a new instance.
    var instance: String
    /// The node's name in the topology, such as `echo-1`.
    var node: String
    /// Where clients and brokers connect to it.
    var endpoint: String
    /// The services it hosts.
    var services: [String]
    /// Requests in progress (running or queued).
    var load: Int
    /// Most handlers it runs at once.
    var capacity: Int
    /// Its heartbeat interval in milliseconds.
    var intervalMilliseconds: Int
    /// "broker" for a broker announcing its Majordomo workers' services; absent for service nodes.
    var role: String? = nil

    enum CodingKeys: String, CodingKey {
        case instance, node, endpoint, services, load, capacity, role
        case intervalMilliseconds = "interval_ms"
    }

    /// Most services one announcement may list.
    static let maxServices = 64

    /// Most bytes an announcement may take.
    static let maxBytes = 16 * 1024

    /// Decodes and checks an announcement from a message body; nil if it is not a valid one.
    static func decode(_ body: [[UInt8]]) -> Announcement? {
        guard body.count == 1, body[0].count <= maxBytes,
              let announcement = try? JSONDecoder().decode(Announcement.self, from: Data(body[0])) else { return nil }
        return announcement.isValid ? announcement : nil
    }

    func encoded() -> [UInt8] {
        (try? Array(JSONEncoder().encode(self))) ?? []
    }

    var isValid: Bool {
        guard !instance.isEmpty, instance.utf8.count <= 255, !node.isEmpty, node.utf8.count <= 255,
              Endpoint.problem(with: endpoint, allowWildcardPort: false, connecting: true) == nil,
              !services.isEmpty, services.count <= Self.maxServices,
              services.allSatisfy({ Header.isValidName($0) && !$0.contains(".") }),
              load >= 0, capacity >= 0, intervalMilliseconds > 0, role == nil || role == "broker" else { return false }
        return true
    }
}
