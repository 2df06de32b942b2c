public import ArgumentParser
import Foundation
public import Logging
import ZMeshBuiltins

/// `--log-level` and `--log-format`, also read from `ZMESH_LOG_LEVEL` and `ZMESH_LOG_FORMAT`:
/// the logging flags of every `zmesh` command and of ``NodeOptions``.
///
/// Logging is bootstrapped once, by ``makeLogger(label:defaultLevel:)``: text (one readable
/// line per record, on standard error) or JSON (ZMeshBuiltins' `JSONLogHandler`, one object
/// per line).
public struct LoggingOptions: ParsableArguments {
    /// `--log-level`: trace ... critical; `$ZMESH_LOG_LEVEL` when not given.
    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical (default: $ZMESH_LOG_LEVEL, else info for node and serve, warning for call, bench and load, error for status, ls, describe and ping).")
    public var logLevel: String?

    /// `--log-format`: text or json; `$ZMESH_LOG_FORMAT` when not given.
    @Option(name: .long, help: "text (one readable line per record) or json (one JSON object per line, for log collectors) (default: $ZMESH_LOG_FORMAT, else text).")
    public var logFormat: String?

    /// How records are written.
    public enum Format: String, Sendable {
        /// One readable line per record.
        case text
        /// One JSON object per line.
        case json
    }

    /// Options with neither flag given (the environment then decides).
    public init() {}

    /// Bootstraps logging (once per process) at the level and in the format the flags, else
    /// the environment, say, and returns a logger labelled `label` at that level.
    ///
    /// - Throws: `ValidationError` naming an unknown level or format (a usage error, 64).
    public func makeLogger(label: String, defaultLevel: Logger.Level) throws -> Logger {
        let environment = ProcessInfo.processInfo.environment
        var level = defaultLevel
        if let text = logLevel ?? environment["ZMESH_LOG_LEVEL"] {
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
