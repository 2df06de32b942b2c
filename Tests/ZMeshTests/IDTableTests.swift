import Testing
@testable import ZMesh

@Suite("IDTable")
struct IDTableTests {
    @Test(arguments: [1 as UInt64, 2, 3])
    func behavesLikeADictionaryUnderRandomOperations(seed: UInt64) {
        var rng = DecoderFuzzTests.SplitMix(state: seed)
        var table = IDTable<UInt64, Int>()
        var reference: [UInt64: Int] = [:]
        // Small key spaces force collisions, long probe runs and wrap-around.
        let keySpace = UInt64([64, 1_000, 1 << 40][Int(seed % 3)])
        for step in 0..<20_000 {
            let key = rng.next() % keySpace
            switch rng.next() % 3 {
            case 0, 1:
                #expect(table.updateValue(step, forKey: key) == reference.updateValue(step, forKey: key))
            default:
                #expect(table.removeValue(forKey: key) == reference.removeValue(forKey: key))
            }
            if step % 997 == 0 {
                #expect(table.count == reference.count)
                for (key, value) in reference { #expect(table[key] == value) }
            }
        }
        #expect(Dictionary(uniqueKeysWithValues: table.entries.map { ($0.key, $0.value) }) == reference)
    }

    @Test func requestIDsWithSequentialNumbersSpreadAndRoundTrip() {
        var table = IDTable<RequestID, Int>()
        for sequence in 0..<50_000 { table[RequestID(client: 77, sequence: UInt64(sequence))] = sequence }
        #expect(table.count == 50_000)
        for sequence in stride(from: 0, to: 50_000, by: 2) { table[RequestID(client: 77, sequence: UInt64(sequence))] = nil }
        #expect(table.count == 25_000)
        #expect(table[RequestID(client: 77, sequence: 1)] == 1)
        #expect(table[RequestID(client: 77, sequence: 2)] == nil)
        #expect(table[RequestID(client: 78, sequence: 1)] == nil)
    }
}
