package import InMemoryTracing
package import Tracing
import ZMesh
import Synchronization

/// An `InMemoryTracer` that speaks W3C trace context, as an OpenTelemetry tracer does: its
/// ids are 32 and 16 lowercase hex digits, `inject` writes `traceparent` (and a `tracestate`)
/// and `extract` reads it. Tests see every span it finished through ``finishedSpans``.
package struct W3CTestTracer: Tracer {
    package let recorder: InMemoryTracer

    package init() {
        let counter = Mutex<UInt64>(0)
        let next: @Sendable (Int) -> String = { digits in
            let value = counter.withLock { count -> UInt64 in
                count += 1
                return count
            }
            let hex = String(value, radix: 16)
            return String(repeating: "0", count: digits - hex.count) + hex
        }
        recorder = InMemoryTracer(idGenerator: .init(nextTraceID: { "4bf92f35" + next(24) }, nextSpanID: { next(16) }))
    }

    package var finishedSpans: [FinishedInMemorySpan] { recorder.finishedSpans }

    package func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> ServiceContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> InMemorySpan {
        recorder.startSpan(operationName, context: context(), ofKind: kind, at: instant(), function: function, file: fileID, line: line)
    }

    package func activeSpan(identifiedBy context: ServiceContext) -> InMemorySpan? {
        recorder.activeSpan(identifiedBy: context)
    }

    package func forceFlush() {}

    package func inject<Carrier, Inject: Injector>(_ context: ServiceContext, into carrier: inout Carrier, using injector: Inject)
    where Inject.Carrier == Carrier {
        guard let span = context.inMemorySpanContext else { return }
        injector.inject("00-\(span.traceID)-\(span.spanID)-01", forKey: "traceparent", into: &carrier)
        injector.inject("zmesh=test", forKey: "tracestate", into: &carrier)
    }

    package func extract<Carrier, Extract: Extractor>(_ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract)
    where Extract.Carrier == Carrier {
        guard let value = extractor.extract(key: "traceparent", from: carrier), let parent = TraceParent(value) else { return }
        context.inMemorySpanContext = InMemorySpanContext(traceID: parent.traceID, spanID: parent.spanID, parentSpanID: nil)
    }
}

/// What the tracing tests expect of a call to `front` whose handler calls `back`: the spans
/// in parent order, client first (a broker adds a server span for its hop before each
/// service's).
package func expectedNestedCallSpans(brokered: Bool) -> [(name: String, kind: SpanKind)] {
    brokered
        ? [("front", .client), ("front", .server), ("front", .server), ("back", .client), ("back", .server), ("back", .server)]
        : [("front", .client), ("front", .server), ("back", .client), ("back", .server)]
}

/// `spans` walked from the root down, each the child of the one before; stops where no span
/// has the last one as its parent (so a broken link shows as a short chain).
package func parentChain(_ spans: [FinishedInMemorySpan]) -> [FinishedInMemorySpan] {
    guard let root = spans.first(where: { $0.parentSpanID == nil }) else { return [] }
    var chain = [root]
    while let child = spans.first(where: { $0.parentSpanID == chain.last?.spanID }) { chain.append(child) }
    return chain
}
