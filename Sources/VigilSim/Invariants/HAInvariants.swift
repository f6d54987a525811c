import VigilCore

/// DESIGN.md's HA invariants, checked on a run's `HATrace`.
///
/// 1. **Certified, by the current leader.** Every fence is ordered by a node that won
///    the order's term, when no later term had been won yet, holding a failure
///    certificate of that very life with at least `minimumVotes` distinct validly
///    signed votes (a quorum of a subject's observers is never fewer in a cluster of
///    three or more).
/// 2. **One leader per term**; **the minority side never fences**: no fence is ordered
///    by a node on the side of an active cut that has no strict majority of the
///    quorum denominator (the nodes, less those down in a life recorded fenced), except
///    under a lease taken before the cut: within `lease` of the cut's start, of a
///    failure the node was certified of before the cut. (A leader cannot know of a cut
///    sooner than its lease runs out, and no other leader can be elected before.)
///    A fence of a node that is live (see `HATrace.Kind.fenceOrdered`) and was not cut
///    off on a minority side in that life (by a cut that began before the order; a
///    node certified then stays failed until it restarts) is a `liveNodeFenced`
///    violation, and the node is counted in `fencesOfLiveNodes`.
/// 3. **Recovery after the fence**: a recovery of a life is ordered only after a BMC
///    powered that life off.
/// 4. **Exactly once.** A leader never orders a fence of a life it knows is fenced
///    (it recorded it, or stored another leader's record saying so), and no leader
///    records one life `fenced` twice: the first confirmation of a life counts in
///    `fenceCompletions`, and a later one is allowed only from a leader that ordered
///    its fence before it could know (a new leader cut off from the old one's record
///    re-runs the idempotent power-off): `duplicateFences`. Likewise the cloud accepts
///    the first recovery request per life; repeats are `duplicateRecoveries`, dropped
///    and allowed. A life that went down and stayed down at least `settle`
///    after the latest of its stop, the heal of every cut that began before it came
///    back, and the end of every stretch without a *majority* — more than half of the
///    denominator (the nodes, less those down in a life recorded fenced) running with
///    no failure certificate of their current life — and that the brake did not hold for an operator, must have
///    exactly one `fenced` record and an accepted recovery by the end: a leader killed
///    in the middle of its fence was replaced and the fence completed — unless an
///    earlier life of that node was fenced: then it stays out of service (no unfence
///    here) and is owed nothing. (Without a
///    majority nobody may lead, so nothing can be fenced: by design, not a violation.)
public enum HAInvariants {
    public enum Kind: String, Sendable, CaseIterable, Comparable {
        case fenceWithoutCertificate = "fence-without-certificate"
        case fenceByNonLeader = "fence-by-non-leader"
        case twoLeadersInTerm = "two-leaders-in-term"
        case minorityFence = "minority-fence"
        case liveNodeFenced = "live-node-fenced"
        case recoveryBeforeFence = "recovery-before-fence"
        case fenceNotOnce = "fence-not-once"
        case notRecovered = "not-recovered"

        public static func < (lhs: Kind, rhs: Kind) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// One broken invariant: `kind: what, who, term, when`.
    public struct Violation: Sendable, Equatable, CustomStringConvertible {
        public var kind: Kind
        public var detail: String

        public var description: String { "\(self.kind.rawValue): \(self.detail)" }
    }

    public struct Result: Sendable, Equatable {
        public var violations: [Violation] = []
        public var fencesOrdered = 0
        /// Nodes some BMC powered off.
        public var poweredOff: Set<Int> = []
        public var fencesOfLiveNodes: Set<Int> = []
        /// Lives recorded `fenced` by a leader (each counted once).
        public var fenceCompletions = 0
        /// Later `fenced` records of a life, by leaders that fenced before they knew.
        public var duplicateFences = 0
        public var recoveriesOrdered = 0
        public var recoveriesBeforeFence = 0
        /// Lives whose recovery the cloud received, and the requests it dropped as repeats.
        public var recoveriesAccepted = 0
        public var duplicateRecoveries = 0
        public var recoveredNodes: Set<Int> = []
        /// Lives that stayed down long enough to be owed a fence and a recovery.
        public var livesChecked = 0
        /// Lives the brake held for an operator (not owed anything).
        public var heldByBrake = 0
    }

    private struct Life: Hashable {
        var node: Int
        var life: UInt32
    }

    /// - Parameters:
    ///   - settle: how long a life must stay down (after its stop and any heal) to be
    ///     owed its fence and recovery by the end of the run.
    ///   - minimumVotes: distinct valid votes a certificate needs at least.
    ///   - lease: the election's lease (`leaseDuration`): how long into a cut a leader
    ///     on its minority side may still act on a certificate it held before.
    public static func check(
        _ trace: HATrace, settle: Duration, minimumVotes: Int = 2, lease: Duration = .zero
    ) -> Result {
        var result = Result()
        let names = trace.names
        func say(_ kind: Kind, _ text: String, _ at: Instant) {
            result.violations.append(Violation(kind: kind, detail: "\(text) (t=\(Double(at.nanoseconds) / 1e9)s)"))
        }

        var leaders: [UInt64: [Int]] = [:]
        var newestTerm: UInt64 = 0
        var certified: [[Int]: Instant] = [:]  // [node, subject, life] with enough valid votes: since
        var powered: Set<Life> = []
        var fencedBy: [Life: [(node: Int, term: UInt64)]] = [:]
        var received: Set<Life> = []
        var held: Set<Life> = []
        var knows: Set<[Int]> = []  // [node, target, life]: node knows that life fenced
        var down: [Life: Instant] = [:]
        var downUntil: [Life: Instant] = [:]
        var openLife: [Int: UInt32] = [:]
        // Who can make a majority: running, not declared failed, over the denominator.
        let count = names.count
        var running = [Bool](repeating: true, count: count)
        var declared = [Bool](repeating: false, count: count)
        var currentLife = [UInt32?](repeating: nil, count: count)
        var lifeStart: [Int: Instant] = [:]
        var withoutMajority: [(from: Instant, until: Instant)] = []
        var lostAt: Instant?
        // Fenced and still down: out of the quorum denominator.
        func uncounted() -> [Bool] {
            (0..<count).map { node in
                !running[node] && openLife[node].map { fencedBy[Life(node: node, life: $0)] != nil } == true
            }
        }
        func updateMajority(at now: Instant) {
            let out = uncounted()
            var denominator = count
            var able = 0
            for node in 0..<count {
                if out[node] {
                    denominator -= 1
                } else if running[node] && !declared[node] {
                    able += 1
                }
            }
            let has = able * 2 > denominator
            if !has && lostAt == nil { lostAt = now }
            if has, let since = lostAt {
                withoutMajority.append((since, now))
                lostAt = nil
            }
        }

        for event in trace.events {
            let at = event.at
            switch event.kind {
            case .leaderWon(let node, let term):
                if let others = leaders[term], !others.contains(node) {
                    let all = (others + [node]).map { names[$0] }.sorted()
                    say(.twoLeadersInTerm, "term \(term) had \(all.count) leaders: \(all.joined(separator: ", "))", at)
                }
                leaders[term, default: []].append(node)
                newestTerm = max(newestTerm, term)
            case .certified(let node, let subject, let life, let votes):
                if votes >= minimumVotes && certified[[node, subject, Int(life)]] == nil {
                    certified[[node, subject, Int(life)]] = at
                }
                // The cluster counts a certified node out, whether or not it knows.
                if votes >= minimumVotes && (currentLife[subject] ?? 1) == life && !declared[subject] {
                    declared[subject] = true
                    updateMajority(at: at)
                }
            case .fenceOrdered(let by, let target, let life, let term, let targetLive):
                result.fencesOrdered += 1
                let what = "\(names[by]) ordered a fence of \(names[target]) (life \(life)) in term \(term)"
                if leaders[term]?.contains(by) != true {
                    say(.fenceByNonLeader, "\(what) without having won that term", at)
                } else if term < newestTerm {
                    say(.fenceByNonLeader, "\(what) after term \(newestTerm) had a leader", at)
                }
                if knows.contains([by, target, Int(life)]) {
                    say(.fenceNotOnce, "\(what) though it knew that life fenced", at)
                }
                let certifiedSince = certified[[by, target, Int(life)]]
                if certifiedSince == nil {
                    say(.fenceWithoutCertificate, "\(what) holding no valid failure certificate of that life", at)
                }
                let active = trace.partitions.filter { $0.from <= at && at < $0.healedAt }
                // A side holding most of the voters left may fence: with three of eight
                // nodes fenced and down, four of the other five are a majority (seed 8).
                let out = uncounted()
                let minority = active.filter { $0.isOnMinoritySide(by, uncounted: out) }
                let underLease = minority.allSatisfy { cut in
                    certifiedSince.map { $0 < cut.from } == true && at < cut.from + lease
                }
                if !minority.isEmpty && !underLease {
                    say(.minorityFence, "\(what) while cut off on the minority side of a partition", at)
                }
                // Cut off on a minority side, in this life, by a cut that began before the
                // order: the majority may rightly have certified it then and fence it now.
                let cutOff = trace.partitions.contains {
                    $0.from <= at && $0.isOnMinoritySide(target, uncounted: out)
                        && lifeStart[target, default: .zero] < $0.graceUntil
                }
                if targetLive && !cutOff {
                    result.fencesOfLiveNodes.insert(target)
                    say(.liveNodeFenced, "\(what) while it was live and not cut off", at)
                }
            case .poweredOff(let target, let life):
                result.poweredOff.insert(target)
                powered.insert(Life(node: target, life: life))
            case .fenceRecorded(let by, let target, let life, let term):
                let key = Life(node: target, life: life)
                if let earlier = fencedBy[key] {
                    result.duplicateFences += 1
                    if earlier.contains(where: { $0.node == by }) {
                        say(.fenceNotOnce, "\(names[by]) recorded \(names[target]) (life \(life)) fenced again in term \(term)", at)
                    }
                } else {
                    result.fenceCompletions += 1
                }
                fencedBy[key, default: []].append((by, term))
                knows.insert([by, target, Int(life)])
                updateMajority(at: at)
            case .learnedFenced(let node, let target, let life):
                knows.insert([node, target, Int(life)])
            case .brakeHeld(let target, let life):
                held.insert(Life(node: target, life: life))
            case .recoveryOrdered(let by, let target, let life, let term):
                result.recoveriesOrdered += 1
                if !powered.contains(Life(node: target, life: life)) {
                    result.recoveriesBeforeFence += 1
                    say(
                        .recoveryBeforeFence,
                        "\(names[by]) ordered recovery of \(names[target]) (life \(life)) in term \(term) before a BMC powered that life off",
                        at)
                }
            case .recoveryReceived(let target, let life):
                if received.insert(Life(node: target, life: life)).inserted {
                    result.recoveriesAccepted += 1
                    result.recoveredNodes.insert(target)
                } else {
                    result.duplicateRecoveries += 1
                }
            case .crashed(let node, let life):
                let key = Life(node: node, life: life)
                if down[key] == nil { down[key] = at }
                openLife[node] = life
                running[node] = false
                updateMajority(at: at)
            case .restarted(let node, let life):
                if let old = openLife.removeValue(forKey: node) { downUntil[Life(node: node, life: old)] = at }
                running[node] = true
                declared[node] = false
                currentLife[node] = life
                lifeStart[node] = at
                updateMajority(at: at)
            case .declaredFailed(let node, let life):
                if currentLife[node] == nil || currentLife[node] == life {
                    declared[node] = true
                    updateMajority(at: at)
                }
            }
        }
        if let since = lostAt { withoutMajority.append((since, trace.end)) }

        for (key, stoppedAt) in down.sorted(by: { ($0.key.node, $0.key.life) < ($1.key.node, $1.key.life) }) {
            if held.contains(key) {
                result.heldByBrake += 1
                continue
            }
            // Fenced in an earlier life and never unfenced (the simulator has no
            // operator): out of service, it runs nothing, and the leader rightly
            // leaves its later lives alone.
            if fencedBy.keys.contains(where: { $0.node == key.node && $0.life < key.life }) { continue }
            let until = downUntil[key] ?? trace.end
            var from = stoppedAt
            for cut in trace.partitions where cut.from < until { from = max(from, cut.healedAt) }
            for gap in withoutMajority where gap.from < until { from = max(from, gap.until) }
            guard until - from >= settle else { continue }
            result.livesChecked += 1
            let who = "\(names[key.node]) (life \(key.life), down since t=\(Double(stoppedAt.nanoseconds) / 1e9)s)"
            if fencedBy[key] == nil {
                say(.fenceNotOnce, "\(who) was never recorded fenced", until)
            }
            if !received.contains(key) {
                say(.notRecovered, "\(who) was never recovered", until)
            }
        }
        return result
    }
}
