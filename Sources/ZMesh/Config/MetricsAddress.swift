/// Where a node serves its metrics for Prometheus to scrape: a TCP host and port, written
/// `HOST:PORT` (`127.0.0.1:9601`, `0.0.0.0:9601`, `[::1]:9601`), without a scheme.
///
/// A topology file names it with a node's `metrics:` key, and `zmesh node` and `zmesh serve`
/// take it as `--metrics HOST:PORT`; the module ZMeshPrometheus serves `GET /metrics` there.
///
/// ```swift
/// let address = try MetricsAddress(parsing: "127.0.0.1:9601")
/// print(address.host, address.port)     // 127.0.0.1 9601
/// ```
public struct MetricsAddress: Sendable, Hashable, CustomStringConvertible {
    /// The host to bind, as a socket library takes it: `127.0.0.1`, `::1` (no brackets), or
    /// `0.0.0.0` for every interface (what `*` in the text means).
    public var host: String
    /// The TCP port; 0 (in code only, never in text) asks the system for a free one.
    public var port: Int

    /// An address made in code. Port 0 binds a free port.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`, as a topology file's `metrics:` key or `--metrics` gives it.
    ///
    /// - Throws: ``ConfigurationError`` naming the text and what is wrong with it.
    public init(parsing text: String) throws(ConfigurationError) {
        if let problem = Self.problem(with: text) {
            throw ConfigurationError("metrics address \"\(text)\": \(problem)")
        }
        // `problem(with:)` found a colon and a port from 1 to 65535.
        let colon = text.lastIndex(of: ":") ?? text.endIndex
        var host = String(text[..<colon])
        if host == "*" { host = "0.0.0.0" }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.init(host: host, port: Int(text[text.index(after: colon)...]) ?? 0)
    }

    /// What is wrong with `text` as a metrics address, or nil if nothing.
    public static func problem(with text: String) -> String? {
        let example = "such as 127.0.0.1:9601 (0.0.0.0:9601 for every interface)"
        if text.contains("://") { return "expected HOST:PORT without a scheme, \(example)" }
        guard text.utf8.count <= 1024 else { return "an address is at most 1024 bytes long" }
        guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            return "an address cannot contain control characters"
        }
        guard let colon = text.lastIndex(of: ":") else { return "expected HOST:PORT, \(example)" }
        let host = text[..<colon]
        let port = text[text.index(after: colon)...]
        if host.isEmpty { return "expected HOST:PORT with a host, \(example)" }
        if let problem = Endpoint.problem(withHost: host, connecting: false) { return problem }
        guard let number = Int(port), (1...65535).contains(number) else {
            return "port \"\(port)\" is not a number from 1 to 65535"
        }
        return nil
    }

    /// `HOST:PORT`, with an IPv6 host in brackets: `127.0.0.1:9601`, `[::1]:9601`.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
