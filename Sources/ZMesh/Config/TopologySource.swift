import Yams

/// Where a value came from: its key path and position in the file, or the environment
/// variable that set it (then `key` is the variable's name and there is no position).
struct TopologySource: Equatable {
    var key: String
    var line: Int?
    var column: Int?

    init(key: String, line: Int? = nil, column: Int? = nil) {
        self.key = key
        self.line = line
        self.column = column
    }

    init(key: String, node: Node) {
        self.init(key: key, line: node.mark?.line, column: node.mark?.column)
    }

    /// Orders sources by position in the file; environment variables (no position) come last.
    static func precedes(_ lhs: TopologySource, _ rhs: TopologySource) -> Bool {
        switch (lhs.line, rhs.line) {
        case let (left?, right?):
            left != right ? left < right : (lhs.column ?? 0) < (rhs.column ?? 0)
        case (.some, nil):
            true
        case (nil, _):
            false
        }
    }

    func error(in path: String, _ message: String) -> TopologyError {
        TopologyError(path: path, line: line, column: column, key: key, message: message)
    }
}
