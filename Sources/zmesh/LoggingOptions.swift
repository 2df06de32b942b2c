import ArgumentParser
import Foundation
import Logging

/// `--log-level`, also read from `ZMESH_LOG_LEVEL`. Logging is bootstrapped once, here.
struct LoggingOptions: ParsableArguments {
    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical (default: $ZMESH_LOG_LEVEL, else info for nodes, warning for calls).")
    var logLevel: String?

    func makeLogger(label: String, defaultLevel: Logger.Level) throws -> Logger {
        let text = logLevel ?? ProcessInfo.processInfo.environment["ZMESH_LOG_LEVEL"]
        var level = defaultLevel
        if let text {
            guard let parsed = Logger.Level(rawValue: text.lowercased()) else {
                throw ValidationError("unknown log level \"\(text)\": use trace, debug, info, notice, warning, error or critical")
            }
            level = parsed
        }
        let chosen = level
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = chosen
            return handler
        }
        var logger = Logger(label: label)
        logger.logLevel = chosen
        return logger
    }
}
