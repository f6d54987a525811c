import VigilCore

/// The facts of one run that the HA invariants are checked on (`HAInvariants`), in
/// time order: who won which term, who certified which failure, every fence and
/// recovery order, what the simulated BMCs and cloud did, and what really happened to
/// the nodes. The simulation writes it as the run goes; a test can write one by hand
/// to show that each check catches what it is meant to catch.
///
/// Nodes are indices into `names`, all running from the start of the trace; a node's
/// *life* is the high half of its incarnation (`Incarnation.life(of:)`): a restart is a
/// new life.
public struct HATrace: Sendable, Equatable {
    public var names: [String]
    public var events: [Event] = []
    public var partitions: [Partition] = []
    /// When the run ended (lives still down then are down until here).
    public var end: Instant = .zero

    public init(names: [String]) {
        self.names = names
    }

    public struct Event: Sendable, Equatable {
        public var at: Instant
        public var kind: Kind

        public init(at: Instant, _ kind: Kind) {
            self.at = at
            self.kind = kind
        }
    }

    public enum Kind: Sendable, Equatable {
        /// `node` became leader of `term` (its own `.leaderChanged`).
        case leaderWon(node: Int, term: UInt64)
        /// `node` published a failure certificate against `subject`'s life `life`, with
        /// `validVotes` distinct observers (other than the subject) whose signatures
        /// verify against the simulation's identity keys, all for one incarnation.
        case certified(node: Int, subject: Int, life: UInt32, validVotes: Int)
        /// `by` handed its shell a fence of `target`'s life `life` in `term`.
        /// `targetLive`: the target was then running that life (or paused within the
        /// preset's pause tolerance) and not gray.
        case fenceOrdered(by: Int, target: Int, life: UInt32, term: UInt64, targetLive: Bool)
        /// The simulated BMC powered `target` off, answering an order for life `life`.
        case poweredOff(target: Int, life: UInt32)
        /// Leader `by` recorded (signed) `target`'s life `life` as `fenced` in `term`:
        /// the fence confirmation the cluster acts on.
        case fenceRecorded(by: Int, target: Int, life: UInt32, term: UInt64)
        /// `node` stored a record, signed by another leader, saying `target`'s life `life`
        /// was fenced (or is further along): from now on it knows.
        case learnedFenced(node: Int, target: Int, life: UInt32)
        /// The blast-radius brake held the fence of `target`'s life `life` for an operator.
        case brakeHeld(target: Int, life: UInt32)
        /// `by` handed its shell a recovery of `target`'s life `life` in `term`.
        case recoveryOrdered(by: Int, target: Int, life: UInt32, term: UInt64)
        /// The simulated cloud received a recovery request for `target`'s life `life`
        /// (the first per life is accepted; later ones are duplicates it drops).
        case recoveryReceived(target: Int, life: UInt32)
        /// `node`'s life `life` stopped: crashed, killed, or powered off by its BMC.
        case crashed(node: Int, life: UInt32)
        /// `node` came back as life `life`.
        case restarted(node: Int, life: UInt32)
        /// `node` learned that its life `life` was certified failed: it takes no part
        /// any more (no votes, no acknowledgements) until it restarts.
        case declaredFailed(node: Int, life: UInt32)
    }

    /// A cut of the network: `group` is the split-off side (see `NetworkPartition`).
    public struct Partition: Sendable, Equatable {
        public var group: [Bool]
        public var oneWay: Bool
        public var from: Instant
        public var healedAt: Instant
        /// Failures of cut-off nodes still count as partition failures until here (news
        /// ordered during the cut still spreading; `Simulator.partitionGrace`).
        public var graceUntil: Instant

        public init(group: [Bool], oneWay: Bool = false, from: Instant, healedAt: Instant, graceUntil: Instant) {
            self.group = group
            self.oneWay = oneWay
            self.from = from
            self.healedAt = healedAt
            self.graceUntil = graceUntil
        }

        /// Whether `node` is on the side without a strict majority of the quorum
        /// denominator: the side that can elect no leader and must never fence. Nodes
        /// marked in `uncounted` (fenced and still down: no longer voters) count on
        /// neither side; by default every node counts.
        public func isOnMinoritySide(_ node: Int, uncounted: [Bool]? = nil) -> Bool {
            var side = 0
            var denominator = 0
            for other in self.group.indices where uncounted?[other] != true {
                denominator += 1
                if self.group[other] == self.group[node] { side += 1 }
            }
            return side * 2 <= denominator
        }
    }

    mutating func append(_ kind: Kind, at now: Int64) {
        self.events.append(Event(at: Instant(nanoseconds: now), kind))
    }
}
