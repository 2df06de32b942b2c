import Synchronization
import Tracing
import ZMesh

/// A W3C tracer that records each span (ids, name, attributes, status) and drops it at its
/// end: what tracing costs a call, short of exporting. `ZMESH_TRACER=discard` turns it on in
/// any `zmesh` command, for `scripts/bench.sh --observed`; a real deployment bootstraps an
/// exporting tracer (swift-otel) in its own executable instead.
struct DiscardingTracer: Tracer {
    func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> ServiceContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> RecordedSpan {
        var context = context()
        let parent = context[TraceIDsKey.self]
        let ids = TraceIDs(traceID: parent?.traceID ?? Self.randomHex(16), spanID: Self.randomHex(8))
        context[TraceIDsKey.self] = ids
        return RecordedSpan(context: context, operationName: operationName)
    }

    func activeSpan(identifiedBy context: ServiceContext) -> RecordedSpan? { nil }

    func forceFlush() {}

    func inject<Carrier, Inject: Injector>(_ context: ServiceContext, into carrier: inout Carrier, using injector: Inject)
    where Inject.Carrier == Carrier {
        guard let ids = context[TraceIDsKey.self] else { return }
        injector.inject("00-\(ids.traceID)-\(ids.spanID)-01", forKey: TraceParent.key, into: &carrier)
    }

    func extract<Carrier, Extract: Extractor>(_ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract)
    where Extract.Carrier == Carrier {
        guard let value = extractor.extract(key: TraceParent.key, from: carrier), let parent = TraceParent(value) else { return }
        context[TraceIDsKey.self] = TraceIDs(traceID: parent.traceID, spanID: parent.spanID)
    }

    /// Ids from a SplitMix64 seeded once: a real tracer's id generator is as cheap (a system
    /// random call per id would cost a syscall each).
    private static let generator = Mutex(SplitMix64(seed: UInt64.random(in: 0...UInt64.max)))

    private static func randomHex(_ bytes: Int) -> String {
        var text = ""
        text.reserveCapacity(bytes * 2)
        for _ in 0..<((bytes + 7) / 8) {
            let value = generator.withLock { $0.next() }
            let hex = String(value, radix: 16)
            text += String(repeating: "0", count: 16 - hex.count) + hex
        }
        return String(text.prefix(bytes * 2))
    }

    struct TraceIDs: Sendable {
        let traceID: String
        let spanID: String
    }

    enum TraceIDsKey: ServiceContextKey {
        typealias Value = TraceIDs
    }

    /// A span's state until its end, behind a lock: spans are ended on other tasks than the
    /// ones that started them.
    final class RecordedSpan: Tracing.Span {
        private struct State {
            var name: String
            var attributes = SpanAttributes()
            var status: SpanStatus?
            var ended = false
        }

        let context: ServiceContext
        private let state: Mutex<State>

        init(context: ServiceContext, operationName: String) {
            self.context = context
            state = Mutex(State(name: operationName))
        }

        var operationName: String {
            get { state.withLock { $0.name } }
            set { state.withLock { $0.name = newValue } }
        }

        var attributes: SpanAttributes {
            get { state.withLock { $0.attributes } }
            set { state.withLock { $0.attributes = newValue } }
        }

        var isRecording: Bool { state.withLock { !$0.ended } }

        func setStatus(_ status: SpanStatus) { state.withLock { $0.status = status } }
        func addEvent(_ event: SpanEvent) {}
        func addLink(_ link: SpanLink) {}
        func recordError<Instant: TracerInstant>(_ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant) {}
        func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
            state.withLock { $0.ended = true }
        }
    }
}
