internal import CZeroMQ

/// A socket option this mesh sets, with a typed value.
///
/// Durations are in milliseconds as libzmq takes them. See `zmq_setsockopt(3)` for each.
public enum ZMQSocketOption: Sendable {
    /// How long unsent messages linger after close (`ZMQ_LINGER`); 0 drops them at once.
    case linger(milliseconds: Int32)
    /// Outbound high-water mark per peer in messages (`ZMQ_SNDHWM`); 0 is unlimited.
    case sendHighWaterMark(Int32)
    /// Inbound high-water mark per peer in messages (`ZMQ_RCVHWM`); 0 is unlimited.
    case receiveHighWaterMark(Int32)
    /// This socket's routing id as peers' ROUTERs see it (`ZMQ_ROUTING_ID`), 1 to 255 bytes.
    case routingID([UInt8])
    /// The routing id to give the peer of the next `connect` (`ZMQ_CONNECT_ROUTING_ID`).
    case connectRoutingID([UInt8])
    /// ROUTER: report unroutable messages as `EHOSTUNREACH` instead of dropping them.
    case routerMandatory(Bool)
    /// ROUTER: a new connection with a known routing id takes it over (`ZMQ_ROUTER_HANDOVER`).
    case routerHandover(Bool)
    /// Queue messages only to completed connections (`ZMQ_IMMEDIATE`).
    case immediate(Bool)
    /// ZMTP PING interval (`ZMQ_HEARTBEAT_IVL`); 0 disables.
    case heartbeatInterval(milliseconds: Int32)
    /// Close the connection if no traffic for this long after a PING (`ZMQ_HEARTBEAT_TIMEOUT`).
    case heartbeatTimeout(milliseconds: Int32)
    /// Ask the peer to drop us after this much silence (`ZMQ_HEARTBEAT_TTL`).
    case heartbeatTTL(milliseconds: Int32)
    /// First reconnect delay (`ZMQ_RECONNECT_IVL`).
    case reconnectInterval(milliseconds: Int32)
    /// Cap of the exponential reconnect back-off (`ZMQ_RECONNECT_IVL_MAX`); 0 keeps it fixed.
    case reconnectIntervalMax(milliseconds: Int32)
    /// Largest inbound message in bytes (`ZMQ_MAXMSGSIZE`); a peer sending more is disconnected. -1 is unlimited.
    case maxMessageSize(Int64)
    /// Time to finish the ZMTP handshake (`ZMQ_HANDSHAKE_IVL`).
    case handshakeInterval(milliseconds: Int32)
    /// SUB: subscribe to messages whose first frame starts with this prefix.
    case subscribe([UInt8])
    /// SUB: drop a subscription.
    case unsubscribe([UInt8])
    /// Act as a CURVE server (`ZMQ_CURVE_SERVER`).
    case curveServer(Bool)
    /// This socket's CURVE public key, 40 Z85 characters.
    case curvePublicKey(String)
    /// This socket's CURVE secret key, 40 Z85 characters.
    case curveSecretKey(String)
    /// The server's CURVE public key a client expects, 40 Z85 characters.
    case curveServerKey(String)
    /// The ZAP domain for authentication (`ZMQ_ZAP_DOMAIN`).
    case zapDomain(String)
    /// TCP keep-alive on (1), off (0) or OS default (-1).
    case tcpKeepalive(Int32)
    /// Seconds of silence before the first keep-alive probe (`ZMQ_TCP_KEEPALIVE_IDLE`).
    case tcpKeepaliveIdle(seconds: Int32)
    /// Seconds between keep-alive probes (`ZMQ_TCP_KEEPALIVE_INTVL`).
    case tcpKeepaliveInterval(seconds: Int32)
    /// Unanswered probes before the connection is dropped (`ZMQ_TCP_KEEPALIVE_CNT`).
    case tcpKeepaliveCount(Int32)

    var name: String {
        switch self {
        case .linger: "ZMQ_LINGER"
        case .sendHighWaterMark: "ZMQ_SNDHWM"
        case .receiveHighWaterMark: "ZMQ_RCVHWM"
        case .routingID: "ZMQ_ROUTING_ID"
        case .connectRoutingID: "ZMQ_CONNECT_ROUTING_ID"
        case .routerMandatory: "ZMQ_ROUTER_MANDATORY"
        case .routerHandover: "ZMQ_ROUTER_HANDOVER"
        case .immediate: "ZMQ_IMMEDIATE"
        case .heartbeatInterval: "ZMQ_HEARTBEAT_IVL"
        case .heartbeatTimeout: "ZMQ_HEARTBEAT_TIMEOUT"
        case .heartbeatTTL: "ZMQ_HEARTBEAT_TTL"
        case .reconnectInterval: "ZMQ_RECONNECT_IVL"
        case .reconnectIntervalMax: "ZMQ_RECONNECT_IVL_MAX"
        case .maxMessageSize: "ZMQ_MAXMSGSIZE"
        case .handshakeInterval: "ZMQ_HANDSHAKE_IVL"
        case .subscribe: "ZMQ_SUBSCRIBE"
        case .unsubscribe: "ZMQ_UNSUBSCRIBE"
        case .curveServer: "ZMQ_CURVE_SERVER"
        case .curvePublicKey: "ZMQ_CURVE_PUBLICKEY"
        case .curveSecretKey: "ZMQ_CURVE_SECRETKEY"
        case .curveServerKey: "ZMQ_CURVE_SERVERKEY"
        case .zapDomain: "ZMQ_ZAP_DOMAIN"
        case .tcpKeepalive: "ZMQ_TCP_KEEPALIVE"
        case .tcpKeepaliveIdle: "ZMQ_TCP_KEEPALIVE_IDLE"
        case .tcpKeepaliveInterval: "ZMQ_TCP_KEEPALIVE_INTVL"
        case .tcpKeepaliveCount: "ZMQ_TCP_KEEPALIVE_CNT"
        }
    }

    enum Value {
        case int32(Int32, Int32)
        case int64(Int32, Int64)
        case bytes(Int32, [UInt8])
    }

    var raw: Value {
        switch self {
        case .linger(let v): .int32(ZMQ_LINGER, v)
        case .sendHighWaterMark(let v): .int32(ZMQ_SNDHWM, v)
        case .receiveHighWaterMark(let v): .int32(ZMQ_RCVHWM, v)
        case .routingID(let v): .bytes(ZMQ_ROUTING_ID, v)
        case .connectRoutingID(let v): .bytes(ZMQ_CONNECT_ROUTING_ID, v)
        case .routerMandatory(let v): .int32(ZMQ_ROUTER_MANDATORY, v ? 1 : 0)
        case .routerHandover(let v): .int32(ZMQ_ROUTER_HANDOVER, v ? 1 : 0)
        case .immediate(let v): .int32(ZMQ_IMMEDIATE, v ? 1 : 0)
        case .heartbeatInterval(let v): .int32(ZMQ_HEARTBEAT_IVL, v)
        case .heartbeatTimeout(let v): .int32(ZMQ_HEARTBEAT_TIMEOUT, v)
        case .heartbeatTTL(let v): .int32(ZMQ_HEARTBEAT_TTL, v)
        case .reconnectInterval(let v): .int32(ZMQ_RECONNECT_IVL, v)
        case .reconnectIntervalMax(let v): .int32(ZMQ_RECONNECT_IVL_MAX, v)
        case .maxMessageSize(let v): .int64(ZMQ_MAXMSGSIZE, v)
        case .handshakeInterval(let v): .int32(ZMQ_HANDSHAKE_IVL, v)
        case .subscribe(let v): .bytes(ZMQ_SUBSCRIBE, v)
        case .unsubscribe(let v): .bytes(ZMQ_UNSUBSCRIBE, v)
        case .curveServer(let v): .int32(ZMQ_CURVE_SERVER, v ? 1 : 0)
        case .curvePublicKey(let v): .bytes(ZMQ_CURVE_PUBLICKEY, Array(v.utf8))
        case .curveSecretKey(let v): .bytes(ZMQ_CURVE_SECRETKEY, Array(v.utf8))
        case .curveServerKey(let v): .bytes(ZMQ_CURVE_SERVERKEY, Array(v.utf8))
        case .zapDomain(let v): .bytes(ZMQ_ZAP_DOMAIN, Array(v.utf8))
        case .tcpKeepalive(let v): .int32(ZMQ_TCP_KEEPALIVE, v)
        case .tcpKeepaliveIdle(let v): .int32(ZMQ_TCP_KEEPALIVE_IDLE, v)
        case .tcpKeepaliveInterval(let v): .int32(ZMQ_TCP_KEEPALIVE_INTVL, v)
        case .tcpKeepaliveCount(let v): .int32(ZMQ_TCP_KEEPALIVE_CNT, v)
        }
    }
}
