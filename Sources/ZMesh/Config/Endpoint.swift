/// Checks ZeroMQ endpoints before libzmq sees them, so a wrong one is reported by name
/// (libzmq itself accepts `tcp://127.0.0.1:99999`, for one).
public enum Endpoint {
    /// Throws a ``ConfigurationError`` saying what is wrong with `endpoint`.
    public static func validate(_ endpoint: String) throws(ConfigurationError) {
        if let problem = problem(with: endpoint, allowWildcardPort: true) {
            throw ConfigurationError("endpoint \"\(endpoint)\": \(problem)")
        }
    }

    /// What is wrong with `endpoint`, or nil if nothing. `connecting` refuses a wildcard host
    /// (`*`), which only a bind can use.
    public static func problem(with endpoint: String, allowWildcardPort: Bool, connecting: Bool = false) -> String? {
        guard endpoint.utf8.count <= 1024 else { return "an endpoint is at most 1024 bytes long" }
        guard !endpoint.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            return "an endpoint cannot contain control characters"
        }
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
            if let problem = problem(withHost: host, connecting: connecting) { return problem }
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

    /// What is wrong with a tcp host: `*`, an IPv4 address, a host or interface name, or an
    /// IPv6 address in brackets. (``MetricsAddress`` checks its hosts with it too.)
    static func problem(withHost host: Substring, connecting: Bool) -> String? {
        if host == "*" {
            return connecting ? "host * binds every interface; to connect, name the host, such as 127.0.0.1" : nil
        }
        if host.hasPrefix("[") {
            let inside = host.dropFirst().dropLast()
            guard host.hasSuffix("]"), !inside.isEmpty, inside.contains(":"),
                  inside.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == ":" || $0 == "." || $0 == "%") }) else {
                return "host \"\(host)\" is not an IPv6 address in brackets, such as [::1]"
            }
            return nil
        }
        guard host.utf8.count <= 253,
              host.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "." || $0 == "_") }),
              !host.hasPrefix("."), !host.hasPrefix("-") else {
            return "host \"\(host)\" is not an address or a host name (IPv6 addresses go in brackets: tcp://[::1]:5601)"
        }
        return nil
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
