import Testing
@testable import ZMesh

@Suite("Header layout")
struct HeaderTests {
    private func sample(_ command: Command = .request, name: String = "kv.get", trace: [UInt8]? = nil) -> Header {
        var header = Header(command: command, requestID: RequestID(client: 0x0102_0304_0506_0708, sequence: 0x1112_1314_1516_1718))
        header.flags = [.idempotent]
        header.attempt = 2
        header.status = 0x0A0B
        header.budgetMilliseconds = 0x2122_2324
        header.name = name
        header.traceID = trace
        return header
    }

    @Test func fieldsSitAtTheirDocumentedOffsetsBigEndian() {
        let bytes = sample().encoded()
        #expect(bytes.count == 29 + 6)
        #expect(Array(bytes[0..<2]) == [0x5A, 0x4D])           // "ZM"
        #expect(bytes[2] == 1)                                   // version
        #expect(bytes[3] == Command.request.rawValue)
        #expect(bytes[4] == 0x01)                                // idempotent
        #expect(bytes[5] == 2)                                   // attempt
        #expect(Array(bytes[6..<8]) == [0x0A, 0x0B])             // status
        #expect(Array(bytes[8..<16]) == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(Array(bytes[16..<24]) == [0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18])
        #expect(Array(bytes[24..<28]) == [0x21, 0x22, 0x23, 0x24])
        #expect(bytes[28] == 6)
        #expect(Array(bytes[29...]) == Array("kv.get".utf8))
    }

    @Test func roundTripsEveryCommandWithAndWithoutTraceID() throws {
        for command in Command.allCases {
            for trace in [nil, Array(repeating: UInt8(7), count: 16)] {
                let name = command == .request ? "svc.method" : ""
                let header = sample(command, name: name, trace: trace)
                let bytes = header.encoded()
                var expected = header
                if trace != nil { expected.flags.insert(.hasTraceID) }
                #expect(try Header.decode(bytes).get() == expected)
            }
        }
    }

    @Test func traceFlagIsDerivedFromTheTraceID() {
        let bytes = sample(trace: Array(repeating: 1, count: 16)).encoded()
        #expect(bytes[4] & 0x02 != 0)
        #expect(bytes.count == 29 + 6 + 16)
    }

    @Test func nameOf255BytesIsTheLongest() throws {
        let name = String(repeating: "a", count: 255)
        #expect(Header.isValidName(name))
        #expect(!Header.isValidName(name + "a"))
        #expect(!Header.isValidName(""))
        #expect(!Header.isValidName("tab\tname"))
        #expect(try Header.decode(sample(name: name).encoded()).get().name == name)
    }

    @Test func rejectsEachBrokenRule() {
        let good = sample().encoded()
        func reason(_ bytes: [UInt8]) -> MalformedReason? {
            if case .failure(let reason) = Header.decode(bytes) { return reason }
            return nil
        }
        #expect(reason(Array(good.prefix(28))) == .headerTooShort)
        #expect(reason([]) == .headerTooShort)
        var bad = good; bad[0] = 0x58
        #expect(reason(bad) == .badSignature)
        bad = good; bad[2] = 2
        #expect(reason(bad) == .unsupportedVersion)
        bad = good; bad[3] = 0x7F
        #expect(reason(bad) == .unknownCommand)
        bad = good; bad[3] = 0
        #expect(reason(bad) == .unknownCommand)
        bad = good; bad[28] = 7                                   // name longer than the frame
        #expect(reason(bad) == .headerTooShort)
        bad = good; bad.append(0)                                 // trailing byte
        #expect(reason(bad) == .headerTrailingBytes)
        bad = good; bad[29] = 0xFF                                // invalid UTF-8
        #expect(reason(bad) == .badName)
        bad = good; bad[29] = 0x0A                                // control character
        #expect(reason(bad) == .badName)
        bad = good; bad[4] |= 0x02                                // says trace id, has none
        #expect(reason(bad) == .headerTooShort)
        let emptyRequest = sample(name: "").encoded()
        #expect(reason(emptyRequest) == .badName)
        #expect(reason(sample(.reply, name: "").encoded()) == nil)
    }

    @Test func unknownFlagBitsAreIgnored() throws {
        var bytes = sample().encoded()
        bytes[4] |= 0x80
        let header = try Header.decode(bytes).get()
        #expect(header.isIdempotent)
    }
}

@Suite("Envelope frames")
struct EnvelopeTests {
    let header = Header(command: .request, requestID: RequestID(client: 1, sequence: 2), name: "echo")

    @Test func routedMessagesKeepEveryHopInOrder() throws {
        let frames = Envelope.frames(routing: [[1], [2, 2]], header: header, body: [[9], [8]])
        #expect(frames.count == 6)
        let envelope = try Envelope.decode(frames, routed: true)
        #expect(envelope.routing == [[1], [2, 2]])
        #expect(envelope.header == header)
        #expect(envelope.body == [[9], [8]])
    }

    @Test func dealerSideMessagesStartWithTheDelimiter() throws {
        let frames: [[UInt8]] = [[], header.encoded(), [5]]
        let envelope = try Envelope.decode(frames, routed: false)
        #expect(envelope.routing.isEmpty)
        #expect(envelope.body == [[5]])
        #expect(reason([[1], header.encoded()], routed: false) == .missingDelimiter)
    }

    @Test func zeroBodyFramesAreAllowed() throws {
        let envelope = try Envelope.decode([[7], [], header.encoded()], routed: true)
        #expect(envelope.body.isEmpty)
    }

    private func reason(_ frames: [[UInt8]], routed: Bool = true, limits: Envelope.Limits = .default) -> MalformedReason? {
        do {
            _ = try Envelope.decode(frames, routed: routed, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    @Test func rejectsEachBrokenRule() {
        let encoded = header.encoded()
        #expect(reason([[1], encoded]) == .missingDelimiter)
        #expect(reason([[], encoded]) == .missingDelimiter)        // no routing id on a ROUTER
        #expect(reason([[1], []]) == .missingHeader)
        #expect(reason([]) == .missingDelimiter)
        let hops = Array(repeating: [UInt8(1)], count: 9)
        #expect(reason(hops + [[], encoded]) == .tooManyHops)
        var limits = Envelope.Limits()
        limits.maxBodyFrames = 2
        #expect(reason([[1], [], encoded, [1], [2], [3]], limits: limits) == .tooManyFrames)
        limits = Envelope.Limits()
        limits.maxMessageBytes = 100
        #expect(reason([[1], [], encoded, Array(repeating: 0, count: 100)], limits: limits) == .tooLarge)
        #expect(reason([[1], [], Array("garbage".utf8)]) == .headerTooShort)
    }
}

@Suite("Decoder under random and mutated input")
struct DecoderFuzzTests {
    /// A small deterministic generator so a failure can be replayed from its seed.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    private func randomBytes(_ count: Int, _ rng: inout SplitMix) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    /// Whatever decodes must be canonical: re-encoding the header gives back the same bytes.
    private func checkCanonical(_ frames: [[UInt8]], routed: Bool) {
        guard let envelope = try? Envelope.decode(frames, routed: routed) else { return }
        let reencoded = Envelope.frames(routing: envelope.routing, header: envelope.header, body: envelope.body)
        #expect(reencoded == frames)
    }

    @Test(arguments: [1 as UInt64, 2, 3, 4])
    func randomFrameSequencesNeverCrashTheDecoder(seed: UInt64) {
        var rng = SplitMix(state: seed)
        for _ in 0..<5_000 {
            let count = Int.random(in: 0...6, using: &rng)
            let frames = (0..<count).map { _ in randomBytes(Int.random(in: 0...40, using: &rng), &rng) }
            checkCanonical(frames, routed: true)
            checkCanonical(frames, routed: false)
        }
    }

    @Test(arguments: [11 as UInt64, 12, 13, 14])
    func mutatedValidMessagesDecodeCanonicallyOrFail(seed: UInt64) {
        var rng = SplitMix(state: seed)
        var decodedSome = 0
        for _ in 0..<5_000 {
            var header = Header(command: Command.allCases.randomElement(using: &rng)!,
                                requestID: RequestID(client: rng.next(), sequence: rng.next()),
                                name: "svc.m\(Int.random(in: 0...99, using: &rng))")
            if Bool.random(using: &rng) { header.traceID = randomBytes(16, &rng) }
            var frames = Envelope.frames(routing: [randomBytes(5, &rng)], header: header, body: [randomBytes(8, &rng)])
            // Mutate: flip bytes, truncate, extend, drop or add frames.
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let index = Int.random(in: 0..<frames.count, using: &rng)
                switch Int.random(in: 0...4, using: &rng) {
                case 0 where !frames[index].isEmpty:
                    frames[index][Int.random(in: 0..<frames[index].count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
                case 1: frames[index] = Array(frames[index].prefix(Int.random(in: 0...frames[index].count, using: &rng)))
                case 2: frames[index] += randomBytes(Int.random(in: 1...4, using: &rng), &rng)
                case 3 where frames.count > 1: frames.remove(at: index)
                default: frames.insert(randomBytes(Int.random(in: 0...3, using: &rng), &rng), at: index)
                }
            }
            if (try? Envelope.decode(frames, routed: true)) != nil { decodedSome += 1 }
            checkCanonical(frames, routed: true)
        }
        // Some mutations (in the body, say) leave a valid message: the test sees both paths.
        #expect(decodedSome > 0)
    }
}

@Suite("Reply cache")
struct ReplyCacheTests {
    private func reply(_ sequence: UInt64, size: Int = 1) -> CachedReply {
        CachedReply(header: Header(command: .reply, requestID: RequestID(client: 1, sequence: sequence)),
                    body: Array(repeating: UInt8(truncatingIfNeeded: sequence), count: size))
    }

    @Test func keepsTheNewestWithinItsBounds() {
        var cache = ReplyCache(maxEntries: 3, maxBytes: 10_000)
        for index in 0..<5 { cache.store(RequestID(client: 1, sequence: UInt64(index)), reply(UInt64(index))) }
        #expect(cache.count == 3)
        #expect(cache[RequestID(client: 1, sequence: 0)] == nil)
        #expect(cache[RequestID(client: 1, sequence: 4)]?.body == [4])
    }

    @Test func evictsByBytes() {
        // Each entry counts its body plus 64 bytes of header.
        var cache = ReplyCache(maxEntries: 100, maxBytes: 200)
        cache.store(RequestID(client: 1, sequence: 1), reply(1, size: 60))
        cache.store(RequestID(client: 1, sequence: 2), reply(2, size: 60))
        #expect(cache.count == 1)
        #expect(cache[RequestID(client: 1, sequence: 2)] != nil)
        cache.store(RequestID(client: 1, sequence: 3), reply(3, size: 500))   // larger than the cache
        #expect(cache[RequestID(client: 1, sequence: 3)] == nil)
    }
}

@Suite("Header encoding without allocation")
struct HeaderStackEncodingTests {
    @Test(arguments: [0 as UInt64, 1, 2, 3])
    func theStackEncodingMatchesTheArrayEncoding(seed: UInt64) {
        var rng = DecoderFuzzTests.SplitMix(state: seed)
        for _ in 0..<500 {
            var header = Header(command: Command.allCases.randomElement(using: &rng) ?? .request,
                                requestID: RequestID(client: rng.next(), sequence: rng.next()),
                                name: String(repeating: "n", count: Int.random(in: 0...255, using: &rng)))
            header.flags = Header.Flags(rawValue: UInt8.random(in: 0...255, using: &rng))
            header.attempt = UInt8.random(in: 0...255, using: &rng)
            header.status = UInt16.random(in: 0...UInt16.max, using: &rng)
            header.budgetMilliseconds = UInt32.random(in: 0...UInt32.max, using: &rng)
            if Bool.random(using: &rng) { header.traceID = (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) } }
            let stacked = header.withEncoded { Array($0) }
            #expect(stacked == header.encoded())
        }
    }
}

@Suite("Endpoint validation")
struct EndpointTests {
    @Test func namesWhatIsWrong() {
        #expect(Endpoint.problem(with: "tcp://127.0.0.1:5601", allowWildcardPort: false) == nil)
        #expect(Endpoint.problem(with: "tcp://127.0.0.1:*", allowWildcardPort: true) == nil)
        #expect(Endpoint.problem(with: "tcp://127.0.0.1:*", allowWildcardPort: false) != nil)
        #expect(Endpoint.problem(with: "tcp://127.0.0.1:99999", allowWildcardPort: true)?.contains("99999") == true)
        #expect(Endpoint.problem(with: "127.0.0.1:5601", allowWildcardPort: true) != nil)
        #expect(Endpoint.problem(with: "udp://127.0.0.1:5601", allowWildcardPort: true)?.contains("udp") == true)
        #expect(Endpoint.problem(with: "tcp://:5601", allowWildcardPort: true) != nil)
        #expect(Endpoint.problem(with: "ipc:///tmp/x", allowWildcardPort: true) == nil)
    }

    @Test func hostsAreAddressesOrNames() {
        for good in ["tcp://*:5601", "tcp://localhost:5601", "tcp://mesh-1.example.org:5601", "tcp://[::1]:5601",
                     "tcp://[fe80::1%eth0]:5601", "tcp://eth0:5601"] {
            #expect(Endpoint.problem(with: good, allowWildcardPort: false) == nil, "\(good)")
        }
        // What the hostile peer announced to a registry, which took it then.
        for bad in ["tcp://[::1:5601", "tcp://exa mple:1", "tcp://\u{0}:1", "tcp://127.0.0.1:5601:5602",
                    "tcp://" + String(repeating: "a", count: 5_000) + ":1", "tcp://-x:1", "ipc:///tmp/a\nb"] {
            #expect(Endpoint.problem(with: bad, allowWildcardPort: false) != nil, "\(bad)")
        }
        // A wildcard host is for binding; an announced endpoint is for connecting.
        #expect(Endpoint.problem(with: "tcp://*:5601", allowWildcardPort: false, connecting: true)?.contains("127.0.0.1") == true)
        let announcement = Announcement(instance: "echo-1-x", node: "echo-1", endpoint: "tcp://*:5601", services: ["echo"],
                                        load: 0, capacity: 1, intervalMilliseconds: 250)
        #expect(!announcement.isValid)
    }
}
