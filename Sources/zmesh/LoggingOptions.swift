import ArgumentParser
import Foundation
import Logging
import ZMeshBuiltins

/// `--log-level` and `--log-format`, also read from `ZMESH_LOG_LEVEL` and `ZMESH_LOG_FORMAT`.
/// Logging is bootstrapped once, here.
struct LoggingOptions: ParsableArguments {
    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical (default: $ZMESH_LOG_LEVEL, else info for nodes, warning for calls).")
    var logLevel: String?

    @Option(name: .long, help: "text (one readable line per record) or json (one JSON object per line, for log collectors) (default: $ZMESH_LOG_FORMAT, else text).")
    var logFormat: String?

    /// How records are written.
    enum Format: String {
        case text, json
    }

    func makeLogger(label: String, defaultLevel: Logger.Level) throws -> Logger {
        let environment = ProcessInfo.processInfo.environment
        let text = logLevel ?? environment["ZMESH_LOG_LEVEL"]
        var level = defaultLevel
        if let text {
            guard let parsed = Logger.Level(rawValue: text.lowercased()) else {
                throw ValidationError("unknown log level \"\(text)\": use trace, debug, info, notice, warning, error or critical")
            }
            level = parsed
        }
        var format = Format.text
        if let named = logFormat ?? environment["ZMESH_LOG_FORMAT"] {
            guard let parsed = Format(rawValue: named.lowercased()) else {
                throw ValidationError("unknown log format \"\(named)\": use text or json")
            }
            format = parsed
        }
        let chosen = level, chosenFormat = format
        LoggingSystem.bootstrap { label in
            switch chosenFormat {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = chosen
                return handler
            case .json:
                var handler = JSONLogHandler(label: label)
                handler.logLevel = chosen
                return handler
            }
        }
        var logger = Logger(label: label)
        logger.logLevel = chosen
        return logger
    }
}
