import Tracing

/// A broker's span per native request, when its configuration has a tracer: it continues
/// the caller's trace, and the request goes on carrying the broker span's context, so the
/// instance's span is its child. The span ends when the reply (or error) goes back, or the
/// caller cancels.
extension BrokerCore {
    /// Most spans held at once; requests past it are forwarded untraced (their metadata
    /// untouched). Callers choose request ids, so the table is bounded.
    static var maxHopSpans: Int { 100_000 }

    /// `header` with the hop's span context in its metadata; the span is kept until the
    /// request ends.
    func traceHop(_ header: Header) -> Header {
        guard let tracer = configuration.tracer, hopSpans.count < Self.maxHopSpans, hopSpans[header.requestID] == nil else {
            return header
        }
        var parent = ServiceContext.topLevel
        tracer.extract(header.metadata, into: &parent, using: MetadataExtractor())
        let span = tracer.startSpan(header.name, context: parent, ofKind: .server)
        span.attributes[RPCAttribute.system] = "zmesh"
        span.attributes[RPCAttribute.service] = ServiceHandlers.serviceName(of: header.name)
        span.attributes[RPCAttribute.method] = ServiceHandlers.methodName(of: header.name)
        span.attributes["zmesh.broker"] = configuration.name
        var traced = header
        tracer.inject(span.context, into: &traced.metadata, using: MetadataInjector())
        guard traced.metadataWireSize <= Int(UInt16.max) + 2 else {
            // The caller's metadata filled the block; the hop's context would not fit. The
            // request goes on untraced, its metadata as it came.
            span.end()
            return header
        }
        hopSpans[header.requestID] = span
        return traced
    }

    /// Ends the span of the request a REPLY or ERROR answers.
    func endHop(_ reply: Header) {
        guard !hopSpans.isEmpty else { return }
        let outcome: String
        if reply.command == .error {
            outcome = reply.status >= StatusCode.firstApplicationCode
                ? "application_error" : StatusCode(rawValue: reply.status).map { "\($0)" } ?? "error"
        } else {
            outcome = "ok"
        }
        endHop(reply.requestID, outcome: outcome)
    }

    /// Ends the span of request `id`, if one is held, with `outcome`.
    func endHop(_ id: RequestID, outcome: String) {
        guard let span = hopSpans.removeValue(forKey: id) else { return }
        span.attributes[RPCAttribute.outcome] = outcome
        if outcome != "ok" { span.setStatus(SpanStatus(code: .error, message: outcome)) }
        span.end()
    }
}
