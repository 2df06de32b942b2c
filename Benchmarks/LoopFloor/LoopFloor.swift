// zmesh-loop-floor: the floor of ZMesh's transport layer, with no mesh logic.
//
// An echo over the same parts the mesh runs on (an EventLoop thread per process, ZMQSocketActor
// on a ROUTER and a DEALER, send coalescing of 64 as the mesh sets it, envelopes of routing id,
// delimiter, a 32-byte header and the body), but no protocol decoding, call table, reply cache,
// metrics or interceptors. What ZMesh costs above this floor is its own logic; what this costs
// above the raw C echo is the loop, the actors and Swift.
//
//   zmesh-loop-floor server ENDPOINT
//   zmesh-loop-floor client ENDPOINT REQUESTS PAYLOAD WINDOW callbacks|tasks
//
// callbacks: the loop sends the next request from the reply handler (no Swift task per call).
// tasks: WINDOW tasks that prefer the client's loop each await a continuation per call, which
// the reply handler resumes (as ZMesh's callers do with `zmesh bench`).
// The client prints one JSON line: calls/s and its CPU per call (getrusage, every thread).
import Foundation
import MeshClock
import ZeroMQ
#if canImport(Glibc)
import Glibc
#endif

@main
enum LoopFloor {
    static func main() async throws {
        let arguments = CommandLine.arguments
        switch arguments.count > 2 ? arguments[1] : "" {
        case "server":
            try await serve(arguments[2])
        case "client" where arguments.count == 7:
            guard let requests = Int(arguments[3]), let payload = Int(arguments[4]), let window = Int(arguments[5]),
                  requests > 0, window > 0, ["callbacks", "tasks"].contains(arguments[6]) else { usage() }
            try await call(arguments[2], requests: requests, payload: payload, window: window, tasks: arguments[6] == "tasks")
        default:
            usage()
        }
    }

    static func usage() -> Never {
        FileHandle.standardError.write(Data("""
            usage: zmesh-loop-floor server ENDPOINT
                   zmesh-loop-floor client ENDPOINT REQUESTS PAYLOAD WINDOW callbacks|tasks

            """.utf8))
        exit(64)
    }

    /// Echoes every request's header and body back to its sender, until killed.
    static func serve(_ endpoint: String) async throws {
        let loop = try EventLoop(name: "floor-server")
        let router = try await ZMQSocketActor.make(on: loop, type: .router)
        try await router.bind(endpoint)
        try await loop.submit {
            try router.assumeIsolated { router in
                router.setSendCoalescing(limit: 64)
                try router.onFrames { [unowned router] frames in
                    guard frames.count == 4 else { return }
                    router.assumeIsolated(passing: frames) { router, frames in
                        let routing = [frames.bytes(0)]
                        frames.withFrame(2) { header in
                            frames.withFrame(3) { body in
                                _ = try? router.sendEnvelope(routing: routing, header: header, bodyBytes: body)
                            }
                        }
                    }
                }
            }
        }
        while true { try await Task.sleep(for: .seconds(3600)) }
    }

    static func call(_ endpoint: String, requests: Int, payload: Int, window: Int, tasks: Bool) async throws {
        let loop = try EventLoop(name: "floor-client")
        let dealer = try await ZMQSocketActor.make(on: loop, type: .dealer)
        try await dealer.connect(endpoint)
        let client = FloorClient(loop: loop, dealer: dealer, payload: payload)
        try await loop.submit {
            try dealer.assumeIsolated { dealer in
                try dealer.onFrames { [unowned client] frames in
                    client.assumeIsolated(passing: frames) { client, frames in client.reply(frames) }
                }
            }
        }
        let before = cpuMicroseconds()
        let start = ContinuousClock.now
        let completed: Int
        if tasks {
            completed = await client.runTasks(requests: requests, window: window)
        } else {
            completed = await client.runCallbacks(requests: requests, window: window)
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let cpu = (cpuMicroseconds() - before) / Double(max(completed, 1))
        print(String(format: "{\"impl\":\"loop-floor-%@\",\"completed\":%d,\"payload\":%d,\"window\":%d,\"elapsed_s\":%.3f,\"calls_per_s\":%.0f,\"cpu_us_per_call\":%.3f}",
                     tasks ? "tasks" : "callbacks", completed, payload, window, seconds, Double(completed) / seconds, cpu))
        exit(0)
    }

    static func cpuMicroseconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
    }
}

/// The client's state, isolated to its loop (as ZMesh's ClientCore is).
actor FloorClient {
    nonisolated let loop: EventLoop
    nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }
    let dealer: ZMQSocketActor
    let body: [UInt8]
    private var header = [UInt8](repeating: 0, count: 32)
    private var sent = 0, received = 0, limit = 0, usesTasks = false
    private var finished: CheckedContinuation<Int, Never>?
    /// Tasks mode: each call's continuation by the sequence number in its header.
    private var waiting: [UInt64: UnsafeContinuation<Void, Never>] = [:]

    init(loop: EventLoop, dealer: ZMQSocketActor, payload: Int) {
        self.loop = loop
        self.dealer = dealer
        self.body = [UInt8](repeating: 0x5a, count: payload)
    }

    private func send(_ sequence: UInt64) {
        withUnsafeBytes(of: sequence.littleEndian) { header.replaceSubrange(0..<8, with: $0) }
        header.withUnsafeBytes { header in
            dealer.assumeIsolated(passing: (header, body)) { dealer, message in
                _ = try? dealer.sendEnvelope(routing: [], header: message.0, body: message.1)
            }
        }
        sent += 1
    }

    /// Keeps `window` requests in flight, sending the next from the reply handler.
    func runCallbacks(requests: Int, window: Int) async -> Int {
        limit = requests
        return await withCheckedContinuation { continuation in
            finished = continuation
            for _ in 0..<min(window, requests) { send(UInt64(sent)) }
        }
    }

    /// `window` tasks on the loop, each calling and awaiting its reply in turn.
    func runTasks(requests: Int, window: Int) async -> Int {
        usesTasks = true
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<window {
                let calls = requests / window + (worker < requests % window ? 1 : 0)
                group.addTask(executorPreference: loop.taskExecutor) {
                    for _ in 0..<calls { await self.callOnce() }
                }
            }
        }
        return received
    }

    /// One reply: the next request (callbacks) or the waiting call's continuation (tasks).
    func reply(_ frames: ZMQReceivedFrames) {
        received += 1
        if !usesTasks {
            if sent < limit { send(UInt64(sent)) }
            if received == limit { finished?.resume(returning: received) }
        } else if frames.count == 3 {
            let sequence = frames.withFrame(1) { $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self) }
            waiting.removeValue(forKey: UInt64(littleEndian: sequence))?.resume()
        }
    }

    nonisolated func callOnce() async {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            if loop.inLoop {
                assumeIsolated(passing: continuation) { client, continuation in client.start(continuation) }
            } else {
                loop.execute { self.assumeIsolated { $0.start(continuation) } }
            }
        }
    }

    private func start(_ continuation: UnsafeContinuation<Void, Never>) {
        let sequence = UInt64(sent)
        waiting[sequence] = continuation
        send(sequence)
    }
}
