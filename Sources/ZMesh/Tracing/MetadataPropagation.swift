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
        // Byte offsets of version 00: 2 + 1 + 32 + 1 + 16 + 1 + 2 = 55 bytes.
        let bytes = Array(value.utf8)
        guard bytes.count == 55, bytes[0] == 0x30, bytes[1] == 0x30, bytes[2] == 0x2D, bytes[35] == 0x2D, bytes[52] == 0x2D,
              Self.isHex(bytes[3..<35]), Self.isHex(bytes[36..<52]), Self.isHex(bytes[53..<55]),
              bytes[3..<35].contains(where: { $0 != 0x30 }), bytes[36..<52].contains(where: { $0 != 0x30 })
        else { return nil }
        traceID = String(decoding: bytes[3..<35], as: UTF8.self)
        spanID = String(decoding: bytes[36..<52], as: UTF8.self)
        flags = String(decoding: bytes[53..<55], as: UTF8.self)
    }

    /// The header value.
    public var value: String { "00-\(traceID)-\(spanID)-\(flags)" }

    private static func isHex(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}
