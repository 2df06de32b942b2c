import Foundation
import MeshClock

/// What a node says when asked `mesh.health`: every node answers it, service nodes, brokers
/// and registries alike, even while it drains. `zmesh ping` asks it, for probes.
public struct NodeHealth: Codable, Sendable, Equatable {
    /// Whether the node takes new work.
    public enum Status: String, Codable, Sendable {
        /// Taking calls.
        case live
        /// Stopping: finishing what it holds, refusing anything new.
        case draining
    }

    /// Whether the node takes new work.
    public var status: Status
    /// `service`, `broker` or `registry`.
    public var role: String
    /// The node's name.
    public var node: String
    /// Requests in progress (running or queued; a registry: live instances).
    public var load: Int
    /// Most requests run at once, where the node has such a bound.
    public var capacity: Int?
    /// Seconds since the node started.
    public var uptimeSeconds: Double
    /// The ZMesh version the node runs.
    public var version: String

    /// The health a node reports.
    public init(status: Status, role: String, node: String, load: Int, capacity: Int? = nil,
                uptimeSeconds: Double, version: String = ZMeshVersion.current) {
        self.status = status
        self.role = role
        self.node = node
        self.load = load
        self.capacity = capacity
        self.uptimeSeconds = uptimeSeconds
        self.version = version
    }

    /// The name nodes answer it under.
    public static let name = "mesh.health"

    /// The health as the body of a reply.
    var encoded: [UInt8] { (try? Array(JSONEncoder().encode(self))) ?? [] }

    /// Seconds from `start` to `now`.
    static func seconds(from start: MonotonicTime, to now: MonotonicTime) -> Double {
        Double(start.nanoseconds(until: now)) / 1e9
    }
}

/// The version of ZMesh.
public enum ZMeshVersion {
    /// This build's version.
    public static let current = "0.12.0"
}
