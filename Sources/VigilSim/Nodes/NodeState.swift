/// Where a simulated node is in its life.
public enum NodeState: UInt8, Sendable, Equatable {
    /// Not started yet: messages to it are dropped (nothing listens on the port).
    case notStarted
    case running
    /// Stopped as by SIGSTOP: input queues up until it resumes.
    case paused
    /// Gone: drops everything, gets no more ticks, until restarted.
    case crashed
    /// Left gracefully and stopped.
    case left

    /// Whether the node counts as a member that should see the others (paused counts).
    public var isLive: Bool {
        self == .running || self == .paused
    }
}
