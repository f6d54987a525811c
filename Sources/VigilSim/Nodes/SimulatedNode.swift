import VigilCore

/// What the simulation drives: a node's protocol engine, fed inputs with the virtual
/// `now` and answering with directives. `VigilCore.Instance` is the real one; tests
/// plug in small stand-ins to check the network model without a working engine.
public protocol SimulatedNode {
    mutating func start(joining seeds: [Address], now: Instant) -> [Directive]
    mutating func receive(_ packet: Packet, from address: Address, now: Instant) -> [Directive]
    mutating func tick(now: Instant) -> [Directive]
    mutating func leave(now: Instant) -> [Directive]
    /// The incarnation the node runs at now; a restart starts above it.
    var currentIncarnation: UInt64 { get }
    /// The simulated BMC finished a fence this node ordered.
    mutating func fenceCompleted(_ order: FenceOrder, confirmed: Bool, detail: String, now: Instant) -> [Directive]
    /// The simulated cloud finished a recovery this node ordered.
    mutating func recoveryCompleted(_ order: RecoveryOrder, succeeded: Bool, detail: String, now: Instant)
        -> [Directive]
}

extension SimulatedNode {
    public mutating func fenceCompleted(
        _ order: FenceOrder, confirmed: Bool, detail: String, now: Instant
    ) -> [Directive] { [] }

    public mutating func recoveryCompleted(
        _ order: RecoveryOrder, succeeded: Bool, detail: String, now: Instant
    ) -> [Directive] { [] }
}

extension Instance: SimulatedNode {
    public var currentIncarnation: UInt64 { self.me.incarnation }
}
