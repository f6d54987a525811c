import VigilCore

/// A fence or recovery the leader's engine ordered, on its way to the drivers.
public enum HAOrder: Sendable, Equatable {
    case fence(FenceOrder)
    case recover(RecoveryOrder)
}

/// Carries out the leader's orders: the fence levels configured for each node and the
/// recovery driver. `AgentService` runs one call per order in its task group.
public protocol HAActions: Sendable {
    /// Runs `order.node`'s fence levels; `confirmed` only when power-off was verified.
    func fence(_ order: FenceOrder) async -> (confirmed: Bool, detail: String)
    /// Runs the recovery driver for `order.node`.
    func recover(_ order: RecoveryOrder) async -> (succeeded: Bool, detail: String)
}

/// An agent without fencing configured. Its engine runs with `ha.enabled` off, so it
/// never orders anything; should an order arrive anyway, it fails loudly rather than
/// pretend a node is off.
public struct UnconfiguredHA: HAActions {
    public init() {}

    public func fence(_ order: FenceOrder) async -> (confirmed: Bool, detail: String) {
        (false, "no fence levels are configured for \(order.node) on this agent")
    }

    public func recover(_ order: RecoveryOrder) async -> (succeeded: Bool, detail: String) {
        (false, "no recovery driver is configured on this agent")
    }
}
