import Foundation
import ZMeshTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A real Prometheus server (Debian's `prometheus`) for a test: scrapes the given targets every
/// second, listens on a free loopback port, keeps its config and storage in a temporary
/// directory, and is stopped by its PID.
final class PrometheusServer: Sendable {
    /// One sample of a query's answer: its labels and value.
    struct Sample: Sendable {
        let labels: [String: String]
        let value: Double
    }

    let process: ChildProcess
    /// Where its HTTP API listens: `http://127.0.0.1:PORT`.
    let base: String
    let directory: URL

    /// Starts Prometheus scraping `targets` (node name -> `HOST:PORT`; each series it scrapes
    /// gets the label `node`) every second, and waits until it is ready.
    init(targets: [String: String], timeout: Duration = .seconds(30)) async throws {
        guard let binary = Self.binary() else { throw ProcessFailure("prometheus is not installed") }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("zmesh-prometheus-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = directory.appendingPathComponent("prometheus.yml")
        try Self.configuration(targets: targets).write(to: config, atomically: true, encoding: .utf8)
        let port = try freePorts(1)[0]
        base = "http://127.0.0.1:\(port)"
        process = try ChildProcess(name: "prometheus", executable: binary, arguments: [
            "--config.file=\(config.path)",
            "--storage.tsdb.path=\(directory.appendingPathComponent("data").path)",
            "--web.listen-address=127.0.0.1:\(port)",
            "--log.level=warn",
        ])
        let base = base
        let ready = await eventually(timeout: timeout) { await httpGet(base + "/-/ready", timeout: 1)?.status == 200 }
        guard ready else {
            let log = process.log
            await stop()
            throw ProcessFailure("prometheus was not ready in \(timeout):\n\(log)")
        }
    }

    /// The `prometheus.yml`: one job, `zmesh`, every target scraped each second.
    static func configuration(targets: [String: String]) -> String {
        var text = """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: zmesh
                static_configs:

            """
        for (node, address) in targets.sorted(by: { $0.key < $1.key }) {
            text += "      - { targets: [\"\(address)\"], labels: { node: \"\(node)\" } }\n"
        }
        return text
    }

    /// The answer of an instant query (`/api/v1/query`), or nil if Prometheus did not answer
    /// with a vector.
    func query(_ promql: String) async -> [Sample]? {
        var components = URLComponents(string: base + "/api/v1/query")
        components?.queryItems = [URLQueryItem(name: "query", value: promql)]
        guard let url = components?.url?.absoluteString, let answer = await httpGet(url), answer.status == 200,
              let json = try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any],
              json["status"] as? String == "success", let data = json["data"] as? [String: Any],
              data["resultType"] as? String == "vector", let result = data["result"] as? [[String: Any]] else { return nil }
        return result.compactMap { item in
            guard let labels = item["metric"] as? [String: String], let value = item["value"] as? [Any], value.count == 2,
                  let text = value[1] as? String, let number = Double(text) else { return nil }
            return Sample(labels: labels, value: number)
        }
    }

    /// SIGTERM by PID (SIGKILL after 5 s), then its directory is removed.
    func stop() async {
        await process.stop(grace: .seconds(5))
        try? FileManager.default.removeItem(at: directory)
    }

    /// `prometheus` on PATH (Debian's package puts it in /usr/bin), if any.
    static func binary() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return (path.split(separator: ":").map(String.init) + ["/usr/bin"])
            .map { $0 + "/prometheus" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Whether prometheus is installed, installing it first if it is not and can be
    /// (scripts/lib/setup.sh's ensure_prometheus: apt-get, as root). scripts/test.sh installs
    /// it before the tests, so this only installs when `swift test` runs alone.
    static func isInstalled() async -> Bool {
        if binary() != nil { return true }
        let script = ". scripts/lib/setup.sh && ensure_prometheus"
        _ = try? await runCommand("/bin/bash", ["-c", "cd '\(Repository.root.path)' && \(script)"], timeout: .seconds(600))
        return binary() != nil
    }
}
