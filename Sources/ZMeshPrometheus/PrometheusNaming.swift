import CoreMetrics
import Prometheus

/// How swift-metrics labels become Prometheus names: every character Prometheus does not
/// allow (the mesh's labels use dots) becomes `_`, counters end in `_total`, and timers,
/// recorded in nanoseconds and exported in seconds, end in `_seconds`:
///
/// | swift-metrics | Prometheus |
/// |---|---|
/// | `Counter(label: "rpc.server.requests")` | `rpc_server_requests_total` (counter) |
/// | `Timer(label: "rpc.server.duration")` | `rpc_server_duration_seconds` (histogram) |
/// | `Gauge(label: "zmesh.load")` | `zmesh_load` (gauge) |
///
/// Dimension names get the same character rule (no suffix); their values are kept as they are.
enum PrometheusNaming {
    /// What a swift-metrics label names, for its suffix.
    enum Kind {
        case counter
        case timer
        case other
    }

    /// The Prometheus metric name for a swift-metrics label of this kind.
    static func metricName(_ label: String, kind: Kind) -> String {
        var name = sanitized(label, allowColon: true)
        let suffix = switch kind {
        case .counter: "_total"
        case .timer: "_seconds"
        case .other: ""
        }
        if !name.hasSuffix(suffix) { name += suffix }
        return name
    }

    /// Dimensions with names Prometheus accepts as label names.
    static func labels(_ dimensions: [(String, String)]) -> [(String, String)] {
        dimensions.map { (sanitized($0.0, allowColon: false), $0.1) }
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*` for metric names, the same without `:` for label names:
    /// anything else becomes `_`, and a leading digit gets a `_` before it.
    static func sanitized(_ text: String, allowColon: Bool) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + 1)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"):
                bytes.append(byte)
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if bytes.isEmpty { bytes.append(UInt8(ascii: "_")) }
                bytes.append(byte)
            case UInt8(ascii: ":") where allowColon:
                bytes.append(byte)
            default:
                // A multi-byte character becomes one `_` per byte: still a valid name, and
                // labels the mesh makes are ASCII anyway.
                bytes.append(UInt8(ascii: "_"))
            }
        }
        return bytes.isEmpty ? "_" : String(decoding: bytes, as: UTF8.self)
    }
}

/// A swift-metrics factory that names every metric the Prometheus way (``PrometheusNaming``)
/// and hands it to swift-prometheus's `PrometheusMetricsFactory`.
///
/// swift-prometheus's own `nameAndLabelSanitizer` hook is told a label and its dimensions but
/// not what kind of metric asks, so it cannot add `_total` to counters only: this wrapper
/// can, as each `make...` call says the kind.
struct PrometheusNamingFactory: MetricsFactory {
    let base: PrometheusMetricsFactory

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        base.makeCounter(label: PrometheusNaming.metricName(label, kind: .counter), dimensions: PrometheusNaming.labels(dimensions))
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        base.makeFloatingPointCounter(label: PrometheusNaming.metricName(label, kind: .counter),
                                      dimensions: PrometheusNaming.labels(dimensions))
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        base.makeRecorder(label: PrometheusNaming.metricName(label, kind: .other), dimensions: PrometheusNaming.labels(dimensions),
                          aggregate: aggregate)
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        base.makeMeter(label: PrometheusNaming.metricName(label, kind: .other), dimensions: PrometheusNaming.labels(dimensions))
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        base.makeTimer(label: PrometheusNaming.metricName(label, kind: .timer), dimensions: PrometheusNaming.labels(dimensions))
    }

    func destroyCounter(_ handler: any CounterHandler) { base.destroyCounter(handler) }
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) { base.destroyFloatingPointCounter(handler) }
    func destroyRecorder(_ handler: any RecorderHandler) { base.destroyRecorder(handler) }
    func destroyMeter(_ handler: any MeterHandler) { base.destroyMeter(handler) }
    func destroyTimer(_ handler: any TimerHandler) { base.destroyTimer(handler) }
}
