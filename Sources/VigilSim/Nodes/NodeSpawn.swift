import VigilCore
import VigilCrypto

/// Everything needed to create (or re-create, after a crash) one simulated node.
public struct NodeSpawn: Sendable {
    public var index: Int
    public var name: String
    public var address: Address
    /// Kept across restarts, as an agent keeps its key in its data directory.
    public var identity: SigningKey
    /// `Incarnation.first(life: 1)` at first start; the first incarnation of the next
    /// life after the last one seen at each restart.
    public var incarnation: UInt64
    /// A fresh stream for this life of the node.
    public var rng: DeterministicRNG
    /// The election term and vote the node persisted before it stopped (an agent
    /// keeps them in its data directory), so a restart never votes twice in a term.
    public var election: ElectionRecord? = nil
}
