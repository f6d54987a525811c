import VigilCore

/// A fault or a life event the simulation carries out at a scheduled virtual instant.
public enum SimulationAction: Sendable, Equatable {
    /// Starts `node`, joining through the nodes listed in `seeds` (none for the first).
    case start(node: Int, seeds: [Int])
    /// The process dies: drops everything, gets no more ticks.
    case crash(node: Int)
    /// A crashed node comes back as a new instance, above its last incarnation, with a
    /// fresh generator, joining through `seeds`.
    case restart(node: Int, seeds: [Int])
    /// The process stops (SIGSTOP) for `duration`: input queues up; at resume the
    /// missed ticks arrive as one tick, then the queued input in arrival order.
    case pause(node: Int, duration: Duration)
    /// Graceful leave; the node stops right after sending its departure.
    case leave(node: Int)
    case partition(NetworkPartition)
    case heal(partitionID: Int)
    /// The node loses `loss` of its datagrams in both directions (0 ends it).
    case gray(node: Int, loss: Double)
    /// Everything the node handles and sends takes `delay` longer (zero ends it).
    case slow(node: Int, delay: Duration)
    /// Overrides the link in both directions between two nodes (`nil` restores defaults).
    case link(between: Int, and: Int, LinkConditions?)
    /// The simulated BMC of `order.node` powers it off (the node stops, as if crashed)
    /// and tells `orderer` if it still runs the life `ordererLife` that ordered it.
    case bmcPowerOff(orderer: Int, ordererLife: UInt32, order: FenceOrder)
    /// The simulated cloud received `orderer`'s recovery of `order.node` and tells
    /// `orderer` if it still runs the life `ordererLife` that ordered it.
    case recoveryAccepted(orderer: Int, ordererLife: UInt32, order: RecoveryOrder)
    /// The answer to `orderer`'s fence or recovery reaches it: at once if it runs the
    /// life that ordered it, when it resumes if it is paused (the reply waits in its
    /// socket), never if that life is gone.
    case fenceAnswered(orderer: Int, ordererLife: UInt32, order: FenceOrder)
    case recoveryAnswered(orderer: Int, ordererLife: UInt32, order: RecoveryOrder)
}
