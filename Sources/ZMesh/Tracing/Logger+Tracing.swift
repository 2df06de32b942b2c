public import Logging
public import Tracing

extension Logger.MetadataProvider {
    /// `trace_id` and `span_id` of the span active on the logging task, as W3C ids: what the
    /// tracer would send as `traceparent`. Empty with no active span, or a tracer that does not
    /// speak W3C trace context.
    ///
    /// ```swift
    /// LoggingSystem.bootstrap({ JSONLogHandler(label: $0, metadataProvider: $1) }, metadataProvider: .zmeshTracing())
    /// ```
    public static func zmeshTracing(tracer: any Tracer = InstrumentationSystem.tracer) -> Logger.MetadataProvider {
        Logger.MetadataProvider {
            guard let context = ServiceContext.current else { return [:] }
            var carrier = Metadata()
            tracer.inject(context, into: &carrier, using: MetadataInjector())
            guard let value = carrier[TraceParent.key], let parent = TraceParent(value) else { return [:] }
            return ["trace_id": "\(parent.traceID)", "span_id": "\(parent.spanID)"]
        }
    }
}
