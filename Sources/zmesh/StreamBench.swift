import Foundation
import ZMesh

/// `zmesh bench NAME --stream`: one server stream, read to its end; messages per second, and
/// with a slow phase (`--slow-rate`, `--slow-seconds`) first, what flow control holds back.
struct StreamBench {
    let client: MeshClient
    let name: String
    let messages: Int
    let size: Int
    let window: Int
    let slowRate: Int
    let slowSeconds: Double
    let timeout: Duration

    struct Report {
        let received: Int
        let inOrder: Bool
        let seconds: Double
        let fastSeconds: Double
        let rssStartKiB: Int
        let rssPeakKiB: Int
        let rssEndKiB: Int
        /// CPU time this process spent over the stream (every thread), in seconds.
        let cpuSeconds: Double
        let error: String?

        /// Messages per second over the fast phase (the whole stream without a slow one).
        func rate(after slow: Int) -> Double { fastSeconds > 0 ? Double(received - slow) / fastSeconds : 0 }
    }

    /// A message of decimal digits as a number (leading zeros allowed); nil for anything else.
    static func decimal(_ message: [UInt8]) -> Int? {
        let digits = message.drop { $0 == UInt8(ascii: "0") }
        guard !message.isEmpty, digits.count <= 18 else { return nil }
        var value = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    /// `stream.count`'s payload for this run: the count and, for messages of `size` bytes, the width.
    var payload: [UInt8] { Array((size > 0 ? "\(messages) \(size)" : "\(messages)").utf8) }

    func run() async -> Report {
        let rssStart = RunMeasures.residentKiB()
        let cpuStart = RunMeasures.processCPUSeconds()
        var peak = rssStart
        let clock = ContinuousClock()
        let started = clock.now
        var fastStarted = started
        var received = 0
        var inOrder = true
        var failure: String?
        let slowCount = slowRate > 0 ? Int(Double(slowRate) * slowSeconds) : 0
        do {
            for try await message in client.stream(name, payload, options: CallOptions(timeout: timeout), window: window) {
                received += 1
                // stream.count's numbers: each one more than the last (leading zeros allowed).
                if inOrder, Self.decimal(message) != received { inOrder = false }
                if received <= slowCount {
                    // The slow phase: a reader that takes slowRate messages a second.
                    try await clock.sleep(until: started.advanced(by: .seconds(Double(received) / Double(slowRate))))
                    if received == slowCount { fastStarted = clock.now }
                }
                // RSS now and then (reading /proc costs; often while slow, when buffers fill).
                if received % (received <= slowCount ? 256 : 65536) == 0 { peak = max(peak, RunMeasures.residentKiB()) }
            }
        } catch {
            failure = "\(error)"
        }
        let ended = clock.now
        let cpuSeconds = RunMeasures.processCPUSeconds() - cpuStart
        let rssEnd = RunMeasures.residentKiB()
        return Report(received: received, inOrder: inOrder, seconds: (ended - started).seconds,
                      fastSeconds: (ended - fastStarted).seconds, rssStartKiB: rssStart,
                      rssPeakKiB: max(peak, rssEnd), rssEndKiB: rssEnd, cpuSeconds: cpuSeconds, error: failure)
    }
}

extension Duration {
    /// In seconds, as a Double.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
