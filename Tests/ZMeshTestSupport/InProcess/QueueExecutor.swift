import Dispatch

/// A serial executor on a dispatch queue: the one "thread" every node of an in-process mesh
/// runs on, as nodes sharing an event loop do.
package final class QueueExecutor: SerialExecutor, Sendable {
    private let queue: DispatchQueue
    private let key = DispatchSpecificKey<UInt8>()

    package init(label: String) {
        queue = DispatchQueue(label: label)
        queue.setSpecific(key: key, value: 1)
    }

    package func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedSerialExecutor()) }
    }

    package func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }

    /// True when the caller runs on this executor.
    package var isCurrent: Bool { DispatchQueue.getSpecific(key: key) != nil }

    package func checkIsolated() {
        precondition(isCurrent, "not on the in-process network's executor")
    }

    package func isIsolatingCurrentContext() -> Bool? { isCurrent }

    /// Runs `work` on the executor soon.
    package func execute(_ work: @escaping @Sendable () -> Void) { queue.async(execute: work) }
}
