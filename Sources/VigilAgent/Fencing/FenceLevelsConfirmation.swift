/// Which level of `FenceLevels` fenced the node, and how.
public struct FenceLevelsConfirmation: Sendable, Equatable, CustomStringConvertible {
    /// The level that confirmed power-off, counting from 1.
    public var level: Int
    /// One confirmation per method of that level, in order.
    public var confirmations: [FenceConfirmation]
    /// The methods of earlier levels that failed first (empty when level 1 worked):
    /// for history, and to tell the operator that a BMC needs looking at.
    public var failures: [FenceAttemptFailure]

    public init(level: Int, confirmations: [FenceConfirmation], failures: [FenceAttemptFailure]) {
        self.level = level
        self.confirmations = confirmations
        self.failures = failures
    }

    /// `level 2: fence_redfish (…), script (…)`.
    public var description: String {
        "level \(self.level): "
            + self.confirmations.map { "\($0.method) (\($0.detail))" }.joined(separator: ", ")
    }
}
