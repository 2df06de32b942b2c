/// Checks ZeroMQ endpoints before libzmq sees them, so a wrong one is reported by name
/// (libzmq itself accepts `tcp://127.0.0.1:99999`, for one).
public enum Endpoint {
    /// Throws a ``MeshError`` with code ``MeshError/Code/badRequest`` saying what is wrong with `endpoint`.
    public static func validate(_ endpoint: String) throws(MeshError) {
        if let problem = problem(with: endpoint, allowWildcardPort: true) {
            throw MeshError(.badRequest, service: "", message: "endpoint \"\(endpoint)\": \(problem)")
        }
    }

    /// What is wrong with `endpoint`, or nil if nothing.
    public static func problem(with endpoint: String, allowWildcardPort: Bool) -> String? {
        guard let schemeEnd = endpoint.range(of: "://") else {
            return "expected transport://address, such as tcp://127.0.0.1:5601 or ipc:///tmp/zmesh.sock"
        }
        let transport = endpoint[..<schemeEnd.lowerBound]
        let address = endpoint[schemeEnd.upperBound...]
        switch transport {
        case "tcp":
            guard let colon = address.lastIndex(of: ":") else { return "a tcp endpoint needs a port, such as tcp://127.0.0.1:5601" }
            let host = address[..<colon]
            let port = address[address.index(after: colon)...]
            if host.isEmpty { return "a tcp endpoint needs a host (127.0.0.1, a name, or * to bind every interface)" }
            if port == "*" { return allowWildcardPort ? nil : "a wildcard port (*) cannot be used here: other nodes connect to this endpoint, so name its port" }
            guard let number = Int(port), (1...65535).contains(number) else {
                return "port \"\(port)\" is not a number from 1 to 65535"
            }
            return nil
        case "ipc", "inproc":
            return address.isEmpty ? "\(transport) endpoints need a path or name" : nil
        default:
            return "unsupported transport \"\(transport)\" (use tcp, ipc or inproc)"
        }
    }

    /// The endpoint to connect to for a bind endpoint: a wildcard host (`*`, `0.0.0.0`)
    /// becomes loopback; anything else is returned as it is.
    public static func connectable(_ bind: String) -> String {
        for wildcard in ["tcp://*:", "tcp://0.0.0.0:"] where bind.hasPrefix(wildcard) {
            return "tcp://127.0.0.1:" + bind.dropFirst(wildcard.count)
        }
        return bind
    }
}
