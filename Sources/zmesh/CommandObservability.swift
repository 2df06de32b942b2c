import ArgumentParser
import Foundation
import Tracing
import ZMesh

/// What the `zmesh` commands trace and time: the interceptors a node or client gets.
///
/// - A node serving metrics (`metrics:` in the file, or `--metrics`) times its handlers
///   (``ServerMetricsInterceptor``).
/// - `ZMESH_TRACER=discard` traces every call, hop and handler with ``DiscardingTracer``
///   (spans made, propagated and dropped): what tracing costs, for `scripts/bench.sh
///   --observed`. Unset or `none`: no tracing, and trace context passes through untouched.
enum CommandObservability {
    /// The tracer `ZMESH_TRACER` names, nil for none; exits 78 naming an unknown one.
    static func tracer() throws -> (any Tracer)? {
        switch ProcessInfo.processInfo.environment["ZMESH_TRACER"]?.lowercased() {
        case nil, "", "none": return nil
        case "discard": return DiscardingTracer()
        case let other?:
            printError("zmesh: ZMESH_TRACER=\(other): use none or discard (exporting tracers belong in your own executable: docs/OPERATIONS.md, Tracing)")
            throw ExitCode(ExitCodes.configuration)
        }
    }

    /// A node's interceptors: tracing first (outermost, so its span covers the rest), then metrics.
    static func serverInterceptors(metrics: Bool) throws -> [any ServerInterceptor] {
        var interceptors: [any ServerInterceptor] = []
        if let tracer = try tracer() { interceptors.append(ServerTracingInterceptor(tracer: tracer)) }
        if metrics { interceptors.append(ServerMetricsInterceptor()) }
        return interceptors
    }

    /// A client's interceptors, in the same order.
    static func clientInterceptors(metrics: Bool) throws -> [any ClientInterceptor] {
        var interceptors: [any ClientInterceptor] = []
        if let tracer = try tracer() { interceptors.append(ClientTracingInterceptor(tracer: tracer)) }
        if metrics { interceptors.append(ClientMetricsInterceptor()) }
        return interceptors
    }
}
