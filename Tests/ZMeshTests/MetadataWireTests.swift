import Testing
@testable import ZMesh

/// The metadata block on the wire (docs/PROTOCOL.md), its limits, and the topology's
/// `limits` section.
@Suite("Metadata on the wire")
struct MetadataWireTests {
    private func request(_ metadata: Metadata) -> Header {
        var header = Header(command: .request, requestID: RequestID(client: 1, sequence: 2))
        header.name = "kv.get"
        header.metadata = metadata
        return header
    }

    @Test func theBlockFollowsTheNameAsDocumented() {
        var metadata = Metadata()
        metadata.add("ab", [1, 2, 3])
        let bytes = request(metadata).encoded()
        #expect(bytes[4] & 0x40 != 0)                            // flag bit 6
        let block = Array(bytes[(29 + 6)...])
        #expect(block == [0, 8, 2, UInt8(ascii: "a"), UInt8(ascii: "b"), 0, 3, 1, 2, 3])
    }

    @Test func bothEncodersAgreeAndDecodingGivesTheSameMetadata() throws {
        var metadata: Metadata = ["tenant": "acme", "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"]
        metadata.add("tenant", "second")
        metadata.add("empty", [])
        metadata.add("binary", Array(0...255))
        for command in Command.allCases {
            var header = request(metadata)
            header.command = command
            let encoded = header.encoded()
            #expect(header.withEncoded { Array($0) } == encoded)
            let decoded = try Header.decode(encoded).get()
            #expect(decoded.metadata == metadata)
            #expect(decoded.metadata.values(for: "tenant") == [Array("acme".utf8), Array("second".utf8)])
        }
    }

    @Test func aHeaderWithoutMetadataIsByteForByteAsBefore() {
        let bytes = request(Metadata()).encoded()
        #expect(bytes.count == 29 + 6)
        #expect(bytes[4] & 0x40 == 0)
    }

    @Test func malformedBlocksAreRejected() {
        let good = request(["k": "v"]).encoded()
        // Entries that run past the block, a block length past the frame, a key with a capital
        // or a space, an empty key: all malformed, never half-read.
        var shortValue = good
        shortValue[shortValue.count - 3] = 9          // value length 0x0009 > 1 byte left... (hi byte)
        var longBlock = good
        longBlock[29 + 6 + 1] = 200                   // block length 200, frame shorter
        var capital = good
        capital[29 + 6 + 3] = UInt8(ascii: "K")
        var space = good
        space[29 + 6 + 3] = UInt8(ascii: " ")
        var emptyKey = Array(good[..<(29 + 6)])
        emptyKey += [0, 3, 0, 0, 0]
        for (bytes, reason) in [(shortValue, MalformedReason.badMetadata), (longBlock, .headerTooShort),
                                (capital, .badMetadata), (space, .badMetadata), (emptyKey, .badMetadata)] {
            #expect(Header.decode(bytes) == .failure(reason))
        }
    }

    @Test func limitsNameWhatIsOver() {
        let limits = MetadataLimits(maxEntries: 2, maxBytes: 10)
        #expect((["a": "1", "b": "2"] as Metadata).problem(under: limits) == nil)
        #expect((["a": "1", "b": "2", "c": "3"] as Metadata).problem(under: limits) == "metadata has 3 entries; the limit is 2")
        #expect((["abc": "12345678"] as Metadata).problem(under: limits) == "metadata has 11 bytes of keys and values; the limit is 10")
        #expect((["a b": "1"] as Metadata).problem(under: limits)?.contains("\"a b\"") == true)
        #expect(MetadataLimits(maxEntries: 10_000, maxBytes: 1 << 20) == MetadataLimits.ceiling)
    }

    @Test func keysAreLowercaseAndSubscriptsReplace() {
        var metadata = Metadata()
        metadata.add("X-Tenant", "a")
        metadata.add("x-tenant", "b")
        #expect(metadata["X-TENANT"] == "a")
        #expect(metadata.values(for: "x-tenant").count == 2)
        metadata["x-tenant"] = "c"
        #expect(metadata.values(for: "x-tenant") == [Array("c".utf8)])
        metadata[bytes: "x-tenant"] = nil
        #expect(metadata.isEmpty)
    }

    private let base = """
        topology: brokerless
        registries:
          - { name: registry-1, bind: "tcp://127.0.0.1:5550" }

        """

    @Test func theTopologySetsTheLimitsForEveryNode() throws {
        let topology = try Topology.parse(yaml: base + "limits: { metadata_entries: 8, metadata_bytes: 1024 }\n", path: "t.yaml")
        #expect(topology.metadataLimits == MetadataLimits(maxEntries: 8, maxBytes: 1024))
        #expect(try Topology.parse(yaml: base, path: "t.yaml").metadataLimits == .default)
    }

    @Test func aBadLimitNamesTheLineAndKey() {
        do {
            _ = try Topology.parse(yaml: base + "limits: { metadata_bytes: 100000 }\n", path: "t.yaml")
            Issue.record("a metadata_bytes over the ceiling was taken")
        } catch {
            #expect(error.key == "limits.metadata_bytes")
            #expect(error.line == 4)
            #expect(error.message.contains("64000"))
        }
        do {
            _ = try Topology.parse(yaml: base + "limits: { headers: 3 }\n", path: "t.yaml")
            Issue.record("an unknown limits key was taken")
        } catch {
            #expect(error.key == "limits.headers")
        }
    }
}
