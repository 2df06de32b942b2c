public import Tracing

/// Carries a trace context in a call's ``Metadata``: a tracer's `inject` writes its keys
/// (W3C `traceparent` and `tracestate` for OpenTelemetry's), its `extract` reads them.
public struct MetadataInjector: Injector {
    /// An injector.
    public init() {}

    /// Sets `value` under `key`, replacing what was there.
    public func inject(_ value: String, forKey key: String, into carrier: inout Metadata) {
        carrier[key] = value
    }
}

/// Reads a trace context out of a call's ``Metadata`` (see ``MetadataInjector``).
public struct MetadataExtractor: Extractor {
    /// An extractor.
    public init() {}

    /// The first value under `key`, if it is UTF-8.
    public func extract(key: String, from carrier: Metadata) -> String? {
        carrier[key]
    }
}

/// A W3C trace context header value: `00-<32 hex trace id>-<16 hex parent span id>-<2 hex flags>`.
public struct TraceParent: Sendable, Equatable {
    /// The trace id, 32 lowercase hex digits.
    public let traceID: String
    /// The span id, 16 lowercase hex digits.
    public let spanID: String
    /// The flags byte as two hex digits (`01`: sampled).
    public let flags: String

    /// The metadata key it travels under.
    public static let key = "traceparent"

    /// Parses a `traceparent` value; nil if it is not version 00 of the W3C format or its ids
    /// are all zeros.
    public init?(_ value: String) {
        let parts = value.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "00", Self.isHex(parts[1], count: 32), Self.isHex(parts[2], count: 16),
              Self.isHex(parts[3], count: 2), parts[1].contains(where: { $0 != "0" }), parts[2].contains(where: { $0 != "0" })
        else { return nil }
        traceID = String(parts[1])
        spanID = String(parts[2])
        flags = String(parts[3])
    }

    /// The header value.
    public var value: String { "00-\(traceID)-\(spanID)-\(flags)" }

    private static func isHex(_ text: Substring, count: Int) -> Bool {
        text.utf8.count == count && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}
