import Foundation
import Logging
import Testing
@testable import ZMeshBuiltins

/// JSON log lines: one object per line, whatever the message holds, metadata kept nested.
@Suite("JSON log lines")
struct JSONLogHandlerTests {
    static func decode(_ line: Data) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: line)
        return try #require(object as? [String: Any])
    }

    @Test func aRecordIsOneLineOfJSONWithItsFields() throws {
        let time = Date(timeIntervalSince1970: 1_795_000_000.25)
        let line = JSONLogHandler.line(time: time, label: "zmesh.node", level: .warning,
                                       message: "two\nlines with \"quotes\" and \u{1}", metadata: ["zmesh.node": "echo-1"],
                                       source: "ZMesh")
        #expect(!line.contains(UInt8(ascii: "\n")))
        let record = try Self.decode(line)
        #expect(record["message"] as? String == "two\nlines with \"quotes\" and \u{1}")
        #expect(record["level"] as? String == "warning")
        #expect(record["label"] as? String == "zmesh.node")
        #expect(record["source"] as? String == "ZMesh")
        #expect((record["metadata"] as? [String: Any])?["zmesh.node"] as? String == "echo-1")
        let stamp = try #require(record["time"] as? String)
        #expect(stamp.hasSuffix("Z") && stamp.contains(".250"))
        #expect(try Date(stamp, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) == time)
    }

    @Test func nestedMetadataStaysNestedAndKeysAreSorted() throws {
        let line = JSONLogHandler.line(time: Date(), label: "l", level: .info, message: "m",
                                       metadata: ["b": ["x", "y"], "a": ["inner": "v"], "c": .stringConvertible(42)],
                                       source: "s")
        let text = String(decoding: line, as: UTF8.self)
        #expect(text.hasPrefix(#"{"label":"l","level":"info","message":"m","metadata":{"a":{"inner":"v"},"b":["x","y"],"c":"42"}"#))
    }

    @Test func traceAndSpanIDsStandAtTheTopLevel() throws {
        let record = try Self.decode(JSONLogHandler.line(time: Date(), label: "l", level: .info, message: "m",
                                                         metadata: ["trace_id": "0af7651916cd43dd8448eb211c80319c",
                                                                    "span_id": "b7ad6b7169203331", "k": "v"], source: "s"))
        #expect(record["trace_id"] as? String == "0af7651916cd43dd8448eb211c80319c")
        #expect(record["span_id"] as? String == "b7ad6b7169203331")
        #expect((record["metadata"] as? [String: Any])?.keys.sorted() == ["k"])
    }

    @Test func aRecordWithoutMetadataHasNoMetadataKey() throws {
        let record = try Self.decode(JSONLogHandler.line(time: Date(), label: "l", level: .info, message: "m", metadata: [:], source: "s"))
        #expect(record["metadata"] == nil)
    }
}
