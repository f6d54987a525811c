/// No level of `FenceLevels` confirmed power-off: the node is not fenced, and nothing
/// may be recovered until it is.
public struct FenceLevelsError: Error, Sendable, Equatable, CustomStringConvertible {
    public var node: String
    public var term: UInt64
    /// Every method that failed, in the order they ran.
    public var failures: [FenceAttemptFailure]

    public init(node: String, term: UInt64, failures: [FenceAttemptFailure]) {
        self.node = node
        self.term = term
        self.failures = failures
    }

    public var description: String {
        if self.failures.isEmpty {
            return "cannot fence \(self.node) (term \(self.term)): no fence levels are configured; "
                + "configure at least one fence method for it"
        }
        return "cannot fence \(self.node) (term \(self.term)): every fence level failed; "
            + self.failures.map(\.description).joined(separator: "; ")
            + ". Its VMs are not recovered until a fence is confirmed: fix the fence device, or power the node "
            + "off by hand and confirm it"
    }
}
