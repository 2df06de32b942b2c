/// The kinds of message in the header's command byte. See docs/PROTOCOL.md.
enum Command: UInt8, Sendable, CaseIterable {
    /// Client -> service (through brokers or not): run a handler. Body: the payload frames.
    case request = 0x01
    /// Service -> client: the handler's result. Body: the payload frames.
    case reply = 0x02
    /// Service or broker -> client: a failure. Header status: the code; body frame 0: UTF-8 text.
    case error = 0x03
    /// Client -> service: stop running this request id. No body.
    case cancel = 0x04
    /// Service -> registry (and broker <-> peers): I am alive. Body: the node's announcement.
    case heartbeat = 0x05
    /// Service -> registry: I am leaving now (graceful shutdown). Body: the node's announcement.
    case disconnect = 0x06
    /// On a stream, to whoever sends its messages: send this many more. Header status: the
    /// number. No body. Client -> service for the replies of a stream; service -> client for
    /// the requests of a client or bidirectional stream.
    case credit = 0x07
    /// Client -> service, on a client or bidirectional stream: one of its request messages
    /// (flag `partial`), or, without the flag, the end of them (a body, if any, is a last
    /// message). Sent only with the service's credit.
    case part = 0x08
}
