/// A topology file that cannot be used, with where and why.
///
/// Its description reads like a compiler's:
/// `topologies/brokerless.yaml:9:42: services[1].bind: port "99999" is not a number from 1 to 65535`.
public struct TopologyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file.
    public let path: String
    /// 1-based line, when known.
    public let line: Int?
    /// 1-based column, when known.
    public let column: Int?
    /// The key path, such as `services[1].bind`, or an environment variable's name; empty for the whole file.
    public let key: String
    /// What is wrong and what was expected.
    public let message: String

    /// An error in the file at `path`, at `line` and `column` if known, under `key`.
    public init(path: String, line: Int? = nil, column: Int? = nil, key: String, message: String) {
        self.path = path
        self.line = line
        self.column = column
        self.key = key
        self.message = message
    }

    /// `FILE:LINE:COLUMN: KEY: MESSAGE`, as compilers print errors.
    public var description: String {
        var location = path
        if let line {
            location += ":\(line)"
            if let column { location += ":\(column)" }
        }
        return key.isEmpty ? "\(location): \(message)" : "\(location): \(key): \(message)"
    }
}
