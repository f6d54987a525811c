/// One thing due at a virtual instant. A plain value with no references, so the heap
/// moves it without retain/release; packets wait in the simulation's packet slab and
/// scenario actions in its action list, and events point at them by index.
struct ScheduledEvent: Comparable {
    enum Kind: UInt8 {
        /// `payload` is a packet slot; `node` receives it from `peer`.
        case datagram
        /// Like `datagram`, sent over a reliable stream.
        case stream
        /// `node` asked for `tick(now:)`; `payload` is its wake generation then.
        case wake
        /// `node`'s pause ends; `payload` is its pause epoch then.
        case resume
        /// `payload` indexes the simulation's scheduled actions.
        case action
    }

    /// Virtual nanoseconds.
    var time: Int64
    /// Insertion order: breaks ties between equal times, so a run never depends on
    /// how the heap happens to order equal keys.
    var sequence: UInt64
    var kind: Kind
    var node: Int32
    var peer: Int32
    var payload: Int64

    static func < (lhs: ScheduledEvent, rhs: ScheduledEvent) -> Bool {
        lhs.time != rhs.time ? lhs.time < rhs.time : lhs.sequence < rhs.sequence
    }

    static func == (lhs: ScheduledEvent, rhs: ScheduledEvent) -> Bool {
        lhs.time == rhs.time && lhs.sequence == rhs.sequence
    }
}
