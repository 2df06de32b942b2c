import ArgumentParser
import Foundation
import Histogram
import Synchronization
import ZMesh
import ZeroMQ
import MeshClock

/// Runs a closed-loop benchmark: `concurrency` workers each call, wait, call again.
struct BenchRunner {
    let client: MeshClient
    let service: String
    let requests: Int
    let concurrency: Int
    let size: Int
    let warmup: Int
    let timeout: Duration
    let maxSeconds: Double
    let showProgress: Bool
    let callers: Callers

    /// Where the benchmark's calling tasks run.
    enum Callers: String, ExpressibleByArgument, Sendable {
        /// On the client's event loop: calls start and resume without a thread hand-off.
        case loop
        /// On the global concurrent executor, like most application code.
        case pool
    }

    struct Report {
        let service: String
        let requests: Int
        let completed: Int
        let concurrency: Int
        let size: Int
        let elapsed: Double
        let histogram: Histogram<UInt64>
        let errors: [String: Int]
        let callers: String
        let rssStartKiB: Int
        let rssEndKiB: Int
        /// CPU (user + system, every thread) this process used over the measured calls.
        let cpuSeconds: Double

        var callsPerSecond: Double { elapsed > 0 ? Double(completed) / elapsed : 0 }
        func microseconds(_ percentile: Double) -> Double { Double(histogram.valueAtPercentile(percentile)) / 1000 }
        /// CPU per completed call, in microseconds.
        var cpuMicrosecondsPerCall: Double { completed > 0 ? cpuSeconds * 1e6 / Double(completed) : 0 }

        var text: String {
            var lines = [
                "\(service): \(completed) calls in \(String(format: "%.3f", elapsed)) s, concurrency \(concurrency), \(size) B",
                String(format: "  calls/s %.0f   p50 %.1f us   p99 %.1f us   p99.9 %.1f us   max %.1f us",
                       callsPerSecond, microseconds(50), microseconds(99), microseconds(99.9), Double(histogram.max) / 1000),
                "  RSS \(rssStartKiB) KiB at start, \(rssEndKiB) KiB at end; "
                    + String(format: "CPU %.2f us per call (user + system, all threads)", cpuMicrosecondsPerCall),
            ]
            lines.append(errors.isEmpty ? "  errors: none" : "  errors: " + errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            return lines.joined(separator: "\n")
        }

        var json: String {
            let errorText = errors.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",")
            return String(format: "{\"impl\":\"zmesh\",\"service\":\"%@\",\"requests\":%d,\"completed\":%d,\"concurrency\":%d,\"payload\":%d,"
                          + "\"elapsed_s\":%.3f,\"calls_per_s\":%.0f,\"p50_us\":%.2f,\"p99_us\":%.2f,\"p999_us\":%.2f,\"max_us\":%.2f,"
                          + "\"errors\":{%@},\"rss_start_kib\":%d,\"rss_end_kib\":%d,\"cpu_us_per_call\":%.3f,\"callers\":\"%@\"}",
                          service, requests, completed, concurrency, size, elapsed, callsPerSecond,
                          microseconds(50), microseconds(99), microseconds(99.9), Double(histogram.max) / 1000,
                          errorText, rssStartKiB, rssEndKiB, cpuMicrosecondsPerCall, callers)
        }
    }

    func run() async throws -> Report {
        switch callers {
        case .loop: try await withTaskExecutorPreference(client.taskExecutor) { try await measure() }
        case .pool: try await measure()
        }
    }

    private func measure() async throws -> Report {
        let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let options = CallOptions(timeout: timeout)
        // Warm up: connections, caches, allocator.
        let counters = BenchCounters()
        await withTaskGroup(of: Void.self) { group in
            let perWorker = max(1, warmup / max(1, min(concurrency, warmup)))
            for _ in 0..<min(concurrency, max(warmup, 1)) where warmup > 0 {
                group.addTask {
                    for _ in 0..<perWorker {
                        do { _ = try await client.call(service, payload, options: options) } catch { counters.warmupErrors.add(1, ordering: .relaxed) }
                    }
                }
            }
        }
        let rssStart = RunMeasures.residentKiB()
        let cpuStart = RunMeasures.processCPUSeconds()
        let started = MonotonicTime.now()
        let deadline = started.advanced(by: .milliseconds(Int64(maxSeconds * 1000)))

        let progress: Task<Void, Never>? = showProgress ? Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(500))
                FileHandleOutput.write("\r  \(counters.done.load(ordering: .relaxed))/\(requests) calls", to: 2)
            }
        } : nil

        // Workers keep plain arrays of latencies (a histogram each would cost ~200 KiB per
        // worker: gigabytes with 10,000 callers); one histogram is filled at the end.
        let results = await withTaskGroup(of: ([UInt64], [String: Int], Int).self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var latencies: [UInt64] = []
                    latencies.reserveCapacity(min(requests / max(1, concurrency) + 16, 1 << 20))
                    var errors: [String: Int] = [:]
                    var completed = 0
                    while !counters.stop.load(ordering: .relaxed), counters.issued.add(1, ordering: .relaxed).newValue <= requests {
                        let t0 = MonotonicTime.now()
                        do {
                            let reply = try await client.call(service, payload, options: options)
                            let t1 = MonotonicTime.now()
                            if reply == payload {
                                latencies.append(t0.nanoseconds(until: t1))
                                completed += 1
                            } else {
                                errors["mismatch", default: 0] += 1
                            }
                        } catch let error as MeshError {
                            errors[error.code.rawValue, default: 0] += 1
                        } catch {
                            errors["other", default: 0] += 1
                        }
                        if counters.done.add(1, ordering: .relaxed).newValue & 0x3FF == 0, MonotonicTime.now() > deadline {
                            counters.stop.store(true, ordering: .relaxed)
                        }
                    }
                    return (latencies, errors, completed)
                }
            }
            var merged = RunMeasures.latencyHistogram()
            var errors: [String: Int] = [:]
            var completed = 0
            for await (latencies, workerErrors, count) in group {
                for latency in latencies { _ = merged.record(latency) }
                errors.merge(workerErrors, uniquingKeysWith: +)
                completed += count
            }
            return (merged, errors, completed)
        }
        let elapsed = Double(started.nanoseconds(until: .now())) / 1e9
        let cpuSeconds = RunMeasures.processCPUSeconds() - cpuStart
        progress?.cancel()
        if showProgress { FileHandleOutput.write("\r\u{1B}[K", to: 2) }
        return Report(service: service, requests: requests, completed: results.2, concurrency: concurrency, size: size,
                      elapsed: elapsed, histogram: results.0, errors: results.1, callers: callers.rawValue,
                      rssStartKiB: rssStart, rssEndKiB: RunMeasures.residentKiB(), cpuSeconds: cpuSeconds)
    }
}

/// Counters the benchmark's workers share.
final class BenchCounters: Sendable {
    let issued = Atomic<Int>(0)
    let done = Atomic<Int>(0)
    let stop = Atomic<Bool>(false)
    let warmupErrors = Atomic<Int>(0)
}
