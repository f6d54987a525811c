import HeapModule

/// The virtual clock's agenda: events ordered by (time, sequence number).
///
/// Equal times pop in the order they were pushed, which makes every run a pure
/// function of its seed.
struct EventQueue {
    private var heap = Heap<ScheduledEvent>()
    private var nextSequence: UInt64 = 0

    var count: Int { self.heap.count }

    /// Time of the earliest event, if any.
    var nextTime: Int64? { self.heap.min?.time }

    mutating func push(at time: Int64, _ kind: ScheduledEvent.Kind, node: Int32, peer: Int32 = -1, payload: Int64 = 0) {
        self.heap.insert(
            ScheduledEvent(
                time: time, sequence: self.nextSequence, kind: kind, node: node, peer: peer, payload: payload))
        self.nextSequence &+= 1
    }

    /// Removes and returns the earliest event if it is due at or before `end`.
    mutating func pop(dueBy end: Int64) -> ScheduledEvent? {
        guard let first = self.heap.min, first.time <= end else { return nil }
        return self.heap.removeMin()
    }
}
