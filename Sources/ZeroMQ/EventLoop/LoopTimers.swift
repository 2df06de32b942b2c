import HeapModule
import MeshClock

/// Identifies a scheduled timer so it can be cancelled.
public struct LoopTimerID: Hashable, Sendable {
    let raw: UInt64
}

/// The loop's timers: a min-heap of deadlines with lazy cancellation. Loop thread only.
struct LoopTimers {
    private struct Entry: Comparable {
        let deadline: MonotonicTime
        let id: UInt64
        static func < (a: Entry, b: Entry) -> Bool {
            a.deadline == b.deadline ? a.id < b.id : a.deadline < b.deadline
        }
    }

    private var heap = Heap<Entry>()
    private var actions: [UInt64: () -> Void] = [:]
    private var nextID: UInt64 = 1

    var isEmpty: Bool { actions.isEmpty }

    mutating func schedule(at deadline: MonotonicTime, _ action: @escaping () -> Void) -> LoopTimerID {
        let id = nextID
        nextID += 1
        heap.insert(Entry(deadline: deadline, id: id))
        actions[id] = action
        return LoopTimerID(raw: id)
    }

    mutating func cancel(_ id: LoopTimerID) {
        actions[id.raw] = nil
        // Keep the heap from filling with cancelled entries when timers are re-armed often.
        if heap.count > 64 && heap.count > 4 * actions.count {
            heap = Heap(heap.unordered.filter { actions[$0.id] != nil })
        }
    }

    /// The earliest live deadline, dropping cancelled entries on the way.
    mutating func nextDeadline() -> MonotonicTime? {
        while let top = heap.min {
            if actions[top.id] != nil { return top.deadline }
            heap.removeMin()
        }
        return nil
    }

    /// Removes and returns the actions due at `now`, earliest first.
    mutating func popDue(now: MonotonicTime) -> [() -> Void] {
        var due: [() -> Void] = []
        while let top = heap.min, top.deadline <= now {
            heap.removeMin()
            if let action = actions.removeValue(forKey: top.id) { due.append(action) }
        }
        return due
    }

    mutating func removeAll() {
        heap = Heap()
        actions = [:]
    }
}
