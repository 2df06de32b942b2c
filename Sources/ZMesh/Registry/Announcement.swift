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
    /// True from a node that sends keep-alives once a registry acknowledges this announcement
    /// (PROTOCOL.md "Keep-alives"); absent from older nodes, which send it whole every beat.
    var keepAlives: Bool? = nil

    enum CodingKeys: String, CodingKey {
        case instance, node, endpoint, services, load, capacity, role
        case intervalMilliseconds = "interval_ms"
        case keepAlives = "keep_alive"
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

    /// The same announcement with another load: what a keep-alive changes.
    func with(load: Int) -> Announcement {
        var copy = self
        copy.load = load
        return copy
    }

    /// A keep-alive's body frame: the load, 4 bytes big-endian (clamped to `UInt32.max`).
    static func keepAlive(load: Int) -> [UInt8] {
        let value = UInt32(clamping: max(load, 0))
        return [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    /// The load of a keep-alive body (one frame of exactly 4 bytes); nil if the body is not one.
    /// No JSON announcement is 4 bytes long, so the two never mix.
    static func keepAliveLoad(_ body: [[UInt8]]) -> Int? {
        guard body.count == 1, body[0].count == 4 else { return nil }
        let bytes = body[0]
        return Int(UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3]))
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
