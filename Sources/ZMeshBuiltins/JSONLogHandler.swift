import Foundation
public import Logging
import Synchronization

/// A swift-log handler that writes one JSON object per line to standard error, for log
/// collectors (journald, Loki, Elasticsearch, `jq`):
///
/// ```json
/// {"label":"zmesh.node","level":"info","message":"service node listening","metadata":{"zmesh.node":"echo-1"},"source":"ZMesh","time":"2026-11-30T11:29:03.412Z"}
/// ```
///
/// Keys are sorted; `metadata` holds the logger's, its metadata provider's and the message's
/// own, the message's winning. `trace_id` and `span_id` (from a handler's
/// `RequestContext.logger`, or the `Logger.MetadataProvider.zmeshTracing()` provider while a
/// span is active) are lifted to the top level, as log collectors expect. Nested
/// metadata stays nested (arrays and objects). A line is written with one `write(2)`, under
/// a lock, so lines from several threads never interleave.
///
/// ```swift
/// LoggingSystem.bootstrap { JSONLogHandler(label: $0) }
/// ```
public struct JSONLogHandler: LogHandler {
    /// The logger's label, written as `label`.
    public let label: String
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    /// A handler for loggers labelled `label`, with `metadataProvider`'s metadata on every line.
    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        let line = Self.line(time: Date(), label: label, level: event.level, message: "\(event.message)",
                             metadata: merged, source: event.source)
        Self.write(line)
    }

    /// The JSON object for one record, without the newline.
    static func line(time: Date, label: String, level: Logger.Level, message: String,
                     metadata: Logger.Metadata, source: String) -> Data {
        var metadata = metadata
        let traceID = metadata.removeValue(forKey: "trace_id").map { "\($0)" }
        let spanID = metadata.removeValue(forKey: "span_id").map { "\($0)" }
        let record = Record(time: timestamp(time), level: level.rawValue, label: label, message: message,
                            metadata: metadata.isEmpty ? nil : metadata.mapValues(JSONValue.init), source: source,
                            traceID: traceID, spanID: spanID)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding strings, arrays and objects of strings cannot fail.
        return (try? encoder.encode(record)) ?? Data("{}".utf8)
    }

    /// RFC 3339 UTC with milliseconds, as log collectors parse it.
    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: TimeZone(identifier: "UTC") ?? .current))
    }

    private static let output = Mutex(())

    private static func write(_ line: Data) {
        var bytes = [UInt8](line)
        bytes.append(UInt8(ascii: "\n"))
        output.withLock { _ in
            bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = Foundation.write(2, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                    if written <= 0 { break }
                    offset += written
                }
            }
        }
    }

    private struct Record: Encodable {
        let time: String
        let level: String
        let label: String
        let message: String
        let metadata: [String: JSONValue]?
        let source: String
        let traceID: String?
        let spanID: String?

        enum CodingKeys: String, CodingKey {
            case time, level, label, message, metadata, source
            case traceID = "trace_id"
            case spanID = "span_id"
        }
    }

    /// A metadata value as JSON: strings stay strings, arrays arrays, dictionaries objects.
    private enum JSONValue: Encodable {
        case string(String)
        case array([JSONValue])
        case object([String: JSONValue])

        init(_ value: Logger.Metadata.Value) {
            switch value {
            case .string(let text): self = .string(text)
            case .stringConvertible(let convertible): self = .string(convertible.description)
            case .array(let values): self = .array(values.map(JSONValue.init))
            case .dictionary(let values): self = .object(values.mapValues(JSONValue.init))
            }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .string(let text): try container.encode(text)
            case .array(let values): try container.encode(values)
            case .object(let values): try container.encode(values)
            }
        }
    }
}
