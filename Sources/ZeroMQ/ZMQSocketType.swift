internal import CZeroMQ

/// The libzmq socket patterns this binding supports.
public enum ZMQSocketType: Sendable, CustomStringConvertible {
    case pair, pub, sub, dealer, router

    var raw: Int32 {
        switch self {
        case .pair: ZMQ_PAIR
        case .pub: ZMQ_PUB
        case .sub: ZMQ_SUB
        case .dealer: ZMQ_DEALER
        case .router: ZMQ_ROUTER
        }
    }

    public var description: String {
        switch self {
        case .pair: "PAIR"
        case .pub: "PUB"
        case .sub: "SUB"
        case .dealer: "DEALER"
        case .router: "ROUTER"
        }
    }
}
