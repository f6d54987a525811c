import VigilCore

/// The simulated network: decides, per message, whether it arrives and after how long.
///
/// Layers, applied in this order to a message from `from` to `to`:
/// 1. active partitions (symmetric or one-way) block it outright — streams included;
/// 2. the link's conditions (a per-direction override, else `defaults`) give loss,
///    delay and jitter; streams (TCP) get the delay and jitter but are never lost;
/// 3. a gray node loses its share of datagrams in both directions, on top of the link;
/// 4. a slow node adds its processing delay to everything it sends and receives.
///
/// Partitions are checked when a message is sent: one already in flight when a cut
/// appears still arrives (it left before the cable was pulled).
public struct NetworkModel: Sendable {
    public var defaults: LinkConditions
    /// Per-direction overrides, keyed by `from << 32 | to`.
    private var overrides: [Int: LinkConditions] = [:]
    private var partitions: [NetworkPartition] = []
    /// Extra datagram loss per node (gray failure), both directions.
    private var nodeLoss: [Double]
    /// Extra processing delay per node (slow node), in nanoseconds.
    private var slowness: [Int64]

    private var defaultDelay: Int64
    private var defaultJitter: Int64

    public init(nodes: Int, defaults: LinkConditions) {
        self.defaults = defaults
        self.defaultDelay = defaults.delay.nanoseconds
        self.defaultJitter = defaults.jitter.nanoseconds
        self.nodeLoss = [Double](repeating: 0, count: nodes)
        self.slowness = [Int64](repeating: 0, count: nodes)
    }

    public var nodeCount: Int { self.nodeLoss.count }

    // MARK: Changing the network

    /// Overrides the conditions of the link from `from` to `to` (one direction).
    public mutating func setLink(from: Int, to: Int, _ conditions: LinkConditions?) {
        self.overrides[from << 32 | to] = conditions
    }

    /// Overrides both directions between `a` and `b`.
    public mutating func setLink(between a: Int, and b: Int, _ conditions: LinkConditions?) {
        self.setLink(from: a, to: b, conditions)
        self.setLink(from: b, to: a, conditions)
    }

    public mutating func addPartition(_ partition: NetworkPartition) {
        precondition(partition.group.count == self.nodeCount, "partition must name a side for every node")
        self.partitions.removeAll { $0.id == partition.id }
        self.partitions.append(partition)
    }

    public mutating func healPartition(id: Int) {
        self.partitions.removeAll { $0.id == id }
    }

    public var activePartitions: [NetworkPartition] { self.partitions }

    /// Makes `node` gray: it loses `loss` of its datagrams in each direction.
    public mutating func setGray(_ node: Int, loss: Double) {
        self.nodeLoss[node] = loss
    }

    /// Makes `node` slow: everything it sends and handles takes `delay` longer.
    public mutating func setSlow(_ node: Int, delay: Duration) {
        self.slowness[node] = delay.nanoseconds
    }

    /// The extra processing time of `node`, in nanoseconds (0 unless slow).
    public func processingDelay(of node: Int) -> Int64 {
        self.slowness[node]
    }

    // MARK: Deciding a message's fate

    /// Whether any active partition stops traffic from `from` to `to`.
    public func isBlocked(from: Int, to: Int) -> Bool {
        for partition in self.partitions where partition.blocks(from: from, to: to) {
            return true
        }
        return false
    }

    /// Decides one message: `nil` if it is lost or blocked, else its delay in
    /// nanoseconds. Draws from `rng` in a fixed pattern for a given network state.
    public func fate(from: Int, to: Int, reliable: Bool, rng: inout DeterministicRNG) -> Int64? {
        if !self.partitions.isEmpty && self.isBlocked(from: from, to: to) { return nil }

        var loss = self.defaults.loss
        var delay = self.defaultDelay
        var jitter = self.defaultJitter
        if !self.overrides.isEmpty, let link = self.overrides[from << 32 | to] {
            loss = link.loss
            delay = link.delay.nanoseconds
            jitter = link.jitter.nanoseconds
        }
        if !reliable {
            let grayFrom = self.nodeLoss[from]
            let grayTo = self.nodeLoss[to]
            if grayFrom > 0 || grayTo > 0 {
                // Independent losses: the datagram survives the link and both ends.
                loss = 1 - (1 - loss) * (1 - grayFrom) * (1 - grayTo)
            }
            if rng.chance(loss) { return nil }
        }
        return delay + rng.nanoseconds(upTo: jitter) + self.slowness[from] + self.slowness[to]
    }
}
