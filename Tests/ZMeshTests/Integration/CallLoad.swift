@testable import ZMesh

/// Calls in a loop on `concurrency` tasks until ``finish()``: the load the rolling-restart
/// tests keep up while they stop nodes. `call` makes call `index` of task `worker` and says
/// whether its reply was the right one; a thrown error is a failed call.
final class CallLoad: @unchecked Sendable {
    // @unchecked: `stop` and the counters are Locked; the task handle is set once in init.
    let stop = Locked(false)
    let succeeded = Locked(0)
    let failures = Locked<[String]>([])
    let wrong = Locked(0)
    var task: Task<Void, Never>?

    init(concurrency: Int, call: @escaping @Sendable (_ worker: Int, _ index: Int) async throws -> Bool) {
        let stop = self.stop, succeeded = self.succeeded, failures = self.failures, wrong = self.wrong
        task = Task {
            await withTaskGroup(of: Void.self) { group in
                for worker in 0..<concurrency {
                    group.addTask {
                        var index = 0
                        while !stop.value {
                            index += 1
                            do {
                                if try await call(worker, index) { succeeded.update { $0 += 1 } } else { wrong.update { $0 += 1 } }
                            } catch {
                                failures.update { $0.append("\(error)") }
                            }
                        }
                    }
                }
            }
        }
    }

    func finish() async {
        stop.value = true
        await task?.value
    }
}
