import Testing
@testable import ZMesh

@Suite("Outcome counters are bounded")
struct OutcomeCountersTests {
    /// A service node counts calls per handler that answered, never per called name: callers
    /// choose names, so 10,000 made-up ones must not make 10,000 counter sets (issue 10).
    @Test func aServiceCountsPerHandlerAndUnknownNamesTogether() {
        var handlers = ServiceHandlers()
        handlers.registerInline("echo") { payload, _ in payload }
        handlers.registerInline("kv.get") { payload, _ in payload }
        var counters = OutcomeCounters(label: "test.requests") { handlers.registeredName(for: $0) }
        for index in 0..<10_000 {
            counters.record(service: "made-up-\(index)", outcome: "notFound")
            counters.recordSuccess(service: "echo.made-up-\(index)")   // answered by `echo`
            counters.record(service: "kv.get", outcome: "ok")
        }
        #expect(counters.labelCount == 3)   // echo, kv.get, _unknown
        #expect(handlers.registeredName(for: "echo.anything") == "echo")
        #expect(handlers.registeredName(for: "kv.put") == nil)
        #expect(handlers.registeredName(for: "kv.get") == "kv.get")
    }

    /// Without a notion of known names (a client), the first `maxNames` names get counters of
    /// their own and every further one shares `_other`.
    @Test func pastTheLimitNamesShareOneLabel() {
        var counters = OutcomeCounters(label: "test.requests", maxNames: 8)
        for index in 0..<1_000 { counters.record(service: "name-\(index)", outcome: "unavailable") }
        #expect(counters.labelCount == 9)
    }
}
