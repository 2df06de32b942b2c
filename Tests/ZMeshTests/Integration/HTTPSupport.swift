import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP GET on loopback (a node's /metrics, Prometheus's API): its status and body, or
/// nil when nothing answers within `timeout`.
func httpGet(_ url: String, timeout: TimeInterval = 5) async -> (status: Int, body: String)? {
    guard let url = URL(string: url) else { return nil }
    var request = URLRequest(url: url)
    request.timeoutInterval = timeout
    guard let (data, response) = try? await URLSession.shared.data(for: request),
          let http = response as? HTTPURLResponse else { return nil }
    return (http.statusCode, String(decoding: data, as: UTF8.self))
}

/// The value of the sample `series` (a metric name with its labels, as a scrape writes it:
/// `rpc_server_requests_total{service="echo",outcome="ok"}`) in Prometheus text, if present.
func sample(_ series: String, in text: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
        return Double(line.dropFirst(series.count + 1))
    }
    return nil
}
