internal import CZeroMQ

/// Which socket events a monitor reports (`zmq_socket_monitor(3)`).
public struct ZMQMonitorEvents: OptionSet, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static let connected = ZMQMonitorEvents(rawValue: ZMQ_EVENT_CONNECTED)
    public static let connectDelayed = ZMQMonitorEvents(rawValue: ZMQ_EVENT_CONNECT_DELAYED)
    public static let connectRetried = ZMQMonitorEvents(rawValue: ZMQ_EVENT_CONNECT_RETRIED)
    public static let accepted = ZMQMonitorEvents(rawValue: ZMQ_EVENT_ACCEPTED)
    public static let closed = ZMQMonitorEvents(rawValue: ZMQ_EVENT_CLOSED)
    public static let disconnected = ZMQMonitorEvents(rawValue: ZMQ_EVENT_DISCONNECTED)
    public static let handshakeSucceeded = ZMQMonitorEvents(rawValue: ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
    public static let handshakeFailedNoDetail = ZMQMonitorEvents(rawValue: ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
    public static let handshakeFailedProtocol = ZMQMonitorEvents(rawValue: ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
    public static let handshakeFailedAuth = ZMQMonitorEvents(rawValue: ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
    public static let monitorStopped = ZMQMonitorEvents(rawValue: ZMQ_EVENT_MONITOR_STOPPED)
    public static let all = ZMQMonitorEvents(rawValue: ZMQ_EVENT_ALL)

    /// What a connecting peer needs to tell up from down.
    public static let connectionLifecycle: ZMQMonitorEvents = [
        .handshakeSucceeded, .disconnected, .closed,
        .handshakeFailedNoDetail, .handshakeFailedProtocol, .handshakeFailedAuth,
    ]
}

/// One event read from a socket monitor.
public struct ZMQMonitorEvent: Sendable, Equatable {
    /// The single event bit.
    public let event: ZMQMonitorEvents
    /// The event's value (a file descriptor, errno or interval, per event).
    public let value: UInt32
    /// The endpoint the event is about.
    public let endpoint: String

    /// Parses the two frames a monitor PAIR delivers; nil if they are not a monitor event.
    public init?(frames: [[UInt8]]) {
        guard frames.count >= 2, frames[0].count == 6 else { return nil }
        let head = frames[0]
        let event = UInt16(head[0]) | UInt16(head[1]) << 8
        let value = UInt32(head[2]) | UInt32(head[3]) << 8 | UInt32(head[4]) << 16 | UInt32(head[5]) << 24
        self.event = ZMQMonitorEvents(rawValue: Int32(event))
        self.value = value
        self.endpoint = String(decoding: frames[1], as: UTF8.self)
    }

    /// True for events after which the connection carries traffic.
    public var isUp: Bool { event == .handshakeSucceeded }
    /// True for events after which the connection no longer carries traffic.
    public var isDown: Bool {
        !event.intersection([.disconnected, .closed, .handshakeFailedNoDetail,
                             .handshakeFailedProtocol, .handshakeFailedAuth]).isEmpty
    }
}
