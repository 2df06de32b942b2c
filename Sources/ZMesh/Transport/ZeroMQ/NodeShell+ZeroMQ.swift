import Logging

extension NodeShell where Core.Transport == ZMQTransport {
    /// A node called `name` on a libzmq transport of its own (a loop thread `zmesh-NAME`),
    /// logging with `zmesh.node` metadata; `makeCore` makes its actor on that transport.
    init(node name: String, logger: Logger, onListening: (@Sendable ([String]) -> Void)?,
         makeCore: (ZMQTransport, Logger) -> Core) throws {
        var logger = logger
        logger[metadataKey: "zmesh.node"] = "\(name)"
        let transport = try ZMQTransport(name: name, logger: logger)
        self.init(core: makeCore(transport, logger), onListening: onListening)
    }
}
