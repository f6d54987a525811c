/// Leader election with terms, majority votes and a lease renewed by a majority:
/// Raft's election rules (Ongaro & Ousterhout 2014, §5.2, §5.4.1's single vote per
/// term, §6's leader stickiness) without a replicated log.
///
/// A pure state machine: every input takes `now` and the current `ElectionView`,
/// and returns `ElectionAction`s that `Instance` turns into directives.
///
/// Safety, in the words of DESIGN.md ("Leader, fencing, recovery"):
/// - **At most one leader per term.** A voter grants one vote per term (persisted
///   before the reply leaves: `ElectionAction.persist`), and a candidate needs more
///   than half of the voters in the quorum denominator.
/// - **The denominator is the last agreed view**, not who is reachable: failed
///   members still count until fenced or gone, so a minority partition can never
///   elect a leader. A voter grants only to a candidate that counts the same voters
///   (same digest), so both count majorities of one set. Without configured voters,
///   a member votes only a lease after it joined (`ElectionView.canVote`), so that
///   the sets of any two candidates hold every member that may vote.
/// - **Lease.** A voter that granted a vote or heard a heartbeat does not vote for
///   anyone else for `leaseDuration` from then. The leader holds its lease while
///   more than half of the voters acknowledged a heartbeat it sent less than
///   `leaseDuration × leaseSafety` ago; it measures from the *send* time, before any
///   voter's promise started, so its lease ends before theirs do (the safety factor
///   covers clock-rate drift between nodes). A leader whose lease ran out steps down
///   before anybody else can be elected.
public struct LeaderElection: Sendable {
    public struct Settings: Sendable, Equatable {
        public var heartbeatInterval: Duration
        public var leaseDuration: Duration
        public var electionTimeoutMin: Duration
        public var electionTimeoutMax: Duration
        /// The share of `leaseDuration` the leader trusts on its own clock.
        public var leaseSafety: Double

        public init(
            heartbeatInterval: Duration, leaseDuration: Duration, electionTimeoutMin: Duration,
            electionTimeoutMax: Duration, leaseSafety: Double = 0.9
        ) {
            self.heartbeatInterval = heartbeatInterval
            self.leaseDuration = leaseDuration
            self.electionTimeoutMin = electionTimeoutMin
            self.electionTimeoutMax = electionTimeoutMax
            self.leaseSafety = leaseSafety
        }
    }

    /// This node's part in the election.
    public enum Role: Equatable, Sendable {
        case follower
        case candidate
        case leader
    }

    public let me: String
    let settings: Settings
    /// The latest term this node knows.
    public private(set) var term: UInt64 = 0
    /// Whom this node voted for in `term`.
    public private(set) var votedFor: String?
    public private(set) var role: Role = .follower
    /// The leader of `term`, once known (this node itself when leading).
    public private(set) var leader: String?

    /// The candidate or leader this node promised not to abandon before
    /// `promisedUntil`: no vote for anyone else, and no candidacy, until then.
    var promisedTo: String?
    var promisedUntil: Instant = .zero
    /// Follower or candidate: when to stand (again).
    var electionDeadline: Instant?
    /// Pre-vote (Raft thesis §9.6): before raising its term a node asks whether the
    /// voters *would* vote for it; only with a majority does it stand. A node cut off
    /// from the leader for a moment thus never bumps the term and deposes a working
    /// leader when it comes back.
    var preVoting = false
    var preVotes: Set<String> = []
    /// Candidate: the voters that granted, and when the request went out.
    var granted: Set<String> = []
    var requestSentAt: Instant = .zero
    /// Leader: for each voter, the send time of the newest heartbeat it acknowledged.
    var acknowledged: [String: Instant] = [:]
    /// Leader: how many voters (not counting itself) have each send time as their
    /// newest acknowledgement, for the voter set `ackCountsDigest`. The lease end is
    /// read from these few buckets instead of sorting every voter on every check.
    var ackCounts: [Instant: Int] = [:]
    var ackCountsDigest: UInt64?
    var heartbeatsSent: [UInt32: Instant] = [:]
    var nextHeartbeatSeq: UInt32 = 1
    var nextHeartbeatAt: Instant = .zero

    /// - Parameters:
    ///   - me: this node's name.
    ///   - restoring: the term and vote persisted before a restart, if any.
    public init(me: String, settings: Settings, restoring: ElectionRecord? = nil) {
        self.me = me
        self.settings = settings
        if let record = restoring {
            self.term = record.term
            self.votedFor = record.votedFor
        }
    }

    // MARK: - Queries

    /// Whether this node leads with a valid lease at `now`.
    public func isLeader(at now: Instant, view: ElectionView) -> Bool {
        self.role == .leader && self.leaseHeld(at: now, view: view)
    }

    /// The leader's lease expiry as this node sees it: for a leader, when its lease
    /// ends unless renewed; for a follower, when its promise to the leader ends.
    public func leaseEnd(view: ElectionView) -> Instant? {
        switch self.role {
        case .leader: self.leaderLeaseEnd(view: view)
        case .follower: self.leader == nil ? nil : self.promisedUntil
        case .candidate: nil
        }
    }

    // MARK: - Inputs

    /// Time passed: stand for election, renew the lease, or step down.
    public mutating func tick(now: Instant, view: ElectionView, rng: inout DeterministicRNG) -> [ElectionAction] {
        var actions: [ElectionAction] = []
        switch self.role {
        case .leader:
            guard view.canLead, self.leaseHeld(at: now, view: view) else {
                self.stepDown(now: now, rng: &rng, actions: &actions)
                return actions
            }
            if now >= self.nextHeartbeatAt {
                self.sendHeartbeats(now: now, view: view, actions: &actions)
            }
        case .follower, .candidate:
            if self.leader != nil && now >= self.promisedUntil && self.role == .follower {
                // The leader's lease ran out here without renewal.
                self.leader = nil
                actions.append(.leaderChanged(term: self.term, leader: nil))
            }
            guard let deadline = self.electionDeadline else {
                self.electionDeadline = now + self.randomTimeout(&rng)
                return actions
            }
            if now >= deadline && now >= self.promisedUntil {
                if view.canStand && view.canVote && view.isVoter(self.me) {
                    self.startPreVote(now: now, view: view, rng: &rng, actions: &actions)
                } else {
                    if self.role == .candidate { self.role = .follower }
                    self.electionDeadline = now + self.randomTimeout(&rng)
                }
            }
        }
        return actions
    }

    /// Handles one election message from the member `from`.
    public mutating func receive(
        _ message: ElectionMessage, from: String, now: Instant, view: ElectionView, rng: inout DeterministicRNG
    ) -> [ElectionAction] {
        var actions: [ElectionAction] = []
        switch message {
        case .voteRequest(let term, let digest, let count):
            self.handleVoteRequest(
                term: term, digest: digest, count: count, from: from, now: now, view: view, rng: &rng,
                actions: &actions)
        case .voteReply(let term, let granted):
            if term > self.term {
                self.adopt(term: term, now: now, rng: &rng, actions: &actions)
            } else if granted, term == self.term, self.role == .candidate, view.isVoter(from) {
                self.granted.insert(from)
                if self.granted.count >= view.majority {
                    self.becomeLeader(now: now, view: view, actions: &actions)
                }
            }
        case .preVoteRequest(let term, let digest, let count):
            // Would this node vote for `from` in `term`? Answered without changing anything.
            let grant =
                view.canVote && !self.isBound(elsewhere: from, at: now, view: view) && term > self.term
                && view.counts(sameVotersAs: digest, count) && view.isVoter(from)
            actions.append(.send(.preVoteReply(term: term, granted: grant), to: from))
        case .preVoteReply(let term, let granted):
            if granted, self.preVoting, term == self.term + 1, view.isVoter(from) {
                self.preVotes.insert(from)
                if self.preVotes.count >= view.majority {
                    self.preVoting = false
                    self.stand(now: now, view: view, rng: &rng, actions: &actions)
                }
            }
        case .heartbeat(let term, let seq):
            if term < self.term {
                // A deposed leader: tell it the newer term.
                actions.append(.send(.heartbeatAck(term: self.term, seq: seq), to: from))
                return actions
            }
            if term > self.term || self.role != .follower || self.leader != from {
                if term > self.term {
                    self.term = term
                    self.votedFor = nil
                    actions.append(.persist(ElectionRecord(term: term, votedFor: nil)))
                }
                self.role = .follower
                self.granted = []
                self.acknowledged = [:]
                self.ackCounts = [:]
                self.ackCountsDigest = nil
                self.heartbeatsSent = [:]
                self.leader = from
                actions.append(.leaderChanged(term: term, leader: from))
            }
            if self.preVoting {
                self.preVoting = false
                self.preVotes = []
            }
            self.promise(to: from, now: now, rng: &rng)
            // Only voters' acks keep the lease (the leader drops the others), so a
            // member outside a configured voter set learns the leader and stays quiet:
            // in a large cluster with five voters the leader absorbs five acks a
            // heartbeat, not one per member.
            if view.isVoter(self.me) {
                actions.append(.send(.heartbeatAck(term: term, seq: seq), to: from))
            }
        case .heartbeatAck(let term, let seq):
            if term > self.term {
                self.adopt(term: term, now: now, rng: &rng, actions: &actions)
            } else if term == self.term, self.role == .leader, let sentAt = self.heartbeatsSent[seq],
                view.isVoter(from)
            {
                self.acknowledge(from, sentAt: sentAt, view: view)
            }
        }
        return actions
    }

    // MARK: - Steps

    mutating func handleVoteRequest(
        term: UInt64, digest: UInt64, count: UInt32, from candidate: String, now: Instant, view: ElectionView,
        rng: inout DeterministicRNG, actions: inout [ElectionAction]
    ) {
        // Leader stickiness: while this node heard from a leader within the lease,
        // or leads itself, a candidate is refused and its term not adopted, so a
        // node rejoining from a partition with a high term cannot depose a working
        // leader (the problem Raft's PreVote solves).
        if self.isBound(elsewhere: candidate, at: now, view: view) || term < self.term {
            actions.append(.send(.voteReply(term: self.term, granted: false), to: candidate))
            return
        }
        if term > self.term {
            self.adopt(term: term, now: now, rng: &rng, actions: &actions)
        }
        let grant =
            view.canVote && view.counts(sameVotersAs: digest, count) && view.isVoter(candidate)
            && (self.votedFor == nil || self.votedFor == candidate)
        if grant {
            self.votedFor = candidate
            // Durable before the reply leaves: a restart must not vote twice in a term.
            actions.append(.persist(ElectionRecord(term: self.term, votedFor: candidate)))
            // The candidate counts this grant as an acknowledgement of its lease.
            self.promise(to: candidate, now: now, rng: &rng)
        }
        actions.append(.send(.voteReply(term: self.term, granted: grant), to: candidate))
    }

    /// Whether this node leads with a valid lease, or promised someone other than
    /// `candidate` within the lease: then it neither votes nor pre-votes for `candidate`.
    func isBound(elsewhere candidate: String, at now: Instant, view: ElectionView) -> Bool {
        (self.role == .leader && self.leaseHeld(at: now, view: view))
            || (now < self.promisedUntil && self.promisedTo != nil && self.promisedTo != candidate)
    }

    mutating func promise(to member: String, now: Instant, rng: inout DeterministicRNG) {
        self.promisedTo = member
        self.promisedUntil = now + self.settings.leaseDuration
        self.electionDeadline = self.promisedUntil + self.randomTimeout(&rng)
    }

    mutating func startPreVote(
        now: Instant, view: ElectionView, rng: inout DeterministicRNG, actions: inout [ElectionAction]
    ) {
        if self.role == .candidate { self.role = .follower }
        self.preVoting = true
        self.preVotes = [self.me]
        self.electionDeadline = now + self.randomTimeout(&rng)
        if self.preVotes.count >= view.majority {
            self.preVoting = false
            self.stand(now: now, view: view, rng: &rng, actions: &actions)
            return
        }
        let request = ElectionMessage.preVoteRequest(
            term: self.term + 1, voters: view.votersDigest, count: UInt32(view.voterCount))
        for voter in view.reachableVoters where voter != self.me {
            actions.append(.send(request, to: voter))
        }
    }

    mutating func stand(now: Instant, view: ElectionView, rng: inout DeterministicRNG, actions: inout [ElectionAction]) {
        self.term += 1
        self.role = .candidate
        self.votedFor = self.me
        self.leader = nil
        self.granted = [self.me]
        self.requestSentAt = now
        self.electionDeadline = now + self.randomTimeout(&rng)
        actions.append(.persist(ElectionRecord(term: self.term, votedFor: self.me)))
        actions.append(.leaderChanged(term: self.term, leader: nil))
        if self.granted.count >= view.majority {
            self.becomeLeader(now: now, view: view, actions: &actions)
            return
        }
        for voter in view.reachableVoters where voter != self.me {
            actions.append(
                .send(
                    .voteRequest(term: self.term, voters: view.votersDigest, count: UInt32(view.voterCount)),
                    to: voter))
        }
    }

    mutating func becomeLeader(now: Instant, view: ElectionView, actions: inout [ElectionAction]) {
        self.role = .leader
        self.leader = self.me
        self.electionDeadline = nil
        // Each grant is a promise that started after the request left.
        self.acknowledged = [:]
        self.ackCounts = [:]
        self.ackCountsDigest = nil
        for voter in self.granted where voter != self.me {
            self.acknowledged[voter] = self.requestSentAt
        }
        self.rebuildAckCounts(view: view)
        self.heartbeatsSent = [:]
        actions.append(.leaderChanged(term: self.term, leader: self.me))
        self.sendHeartbeats(now: now, view: view, actions: &actions)
    }

    mutating func sendHeartbeats(now: Instant, view: ElectionView, actions: inout [ElectionAction]) {
        self.nextHeartbeatAt = now + self.settings.heartbeatInterval
        let seq = self.nextHeartbeatSeq
        self.nextHeartbeatSeq &+= 1
        if self.nextHeartbeatSeq == 0 { self.nextHeartbeatSeq = 1 }
        self.heartbeatsSent[seq] = now
        // Only heartbeats younger than the lease can still renew it, and only
        // acknowledgements of those count.
        let horizon = now - self.settings.leaseDuration
        self.heartbeatsSent = self.heartbeatsSent.filter { $0.value >= horizon }
        if self.acknowledged.values.contains(where: { $0 < horizon }) {
            self.acknowledged = self.acknowledged.filter { $0.value >= horizon }
            self.ackCountsDigest = nil
        }
        if self.ackCountsDigest != view.votersDigest { self.rebuildAckCounts(view: view) }
        for member in view.heartbeatTargets where member != self.me {
            actions.append(.send(.heartbeat(term: self.term, seq: seq), to: member))
        }
    }

    /// A newer term exists: become its follower, leader unknown until it is heard.
    mutating func adopt(term: UInt64, now: Instant, rng: inout DeterministicRNG, actions: inout [ElectionAction]) {
        let wasLeading = self.role == .leader
        self.term = term
        self.votedFor = nil
        self.role = .follower
        self.granted = []
        self.acknowledged = [:]
        self.ackCounts = [:]
        self.ackCountsDigest = nil
        self.heartbeatsSent = [:]
        actions.append(.persist(ElectionRecord(term: term, votedFor: nil)))
        if wasLeading || self.leader != nil {
            self.leader = nil
            actions.append(.leaderChanged(term: term, leader: nil))
        }
        self.electionDeadline = max(now, self.promisedUntil) + self.randomTimeout(&rng)
    }

    mutating func stepDown(now: Instant, rng: inout DeterministicRNG, actions: inout [ElectionAction]) {
        self.role = .follower
        self.leader = nil
        self.acknowledged = [:]
        self.ackCounts = [:]
        self.ackCountsDigest = nil
        self.heartbeatsSent = [:]
        actions.append(.leaderChanged(term: self.term, leader: nil))
        self.electionDeadline = now + self.randomTimeout(&rng)
    }

    /// Leader: the send time of the newest heartbeat a majority of the voters (this
    /// node included) acknowledged; `.distantFuture` when this node alone is a majority.
    public func majorityAcknowledged(view: ElectionView) -> Instant? {
        guard self.role == .leader, let end = self.leaderLeaseEnd(view: view) else { return nil }
        if end == .distantFuture { return .distantFuture }
        return end - self.settings.leaseDuration.scaled(by: self.settings.leaseSafety)
    }

    func leaderLeaseEnd(view: ElectionView) -> Instant? {
        // Newest acknowledgement of each voter, newest first; the majority-th one
        // (counting ourselves) bounds the lease.
        let needed = view.majority - (view.isVoter(self.me) ? 1 : 0)
        if needed <= 0 { return .distantFuture }
        let lease = self.settings.leaseDuration.scaled(by: self.settings.leaseSafety)
        if self.ackCountsDigest == view.votersDigest {
            var counted = 0
            for time in self.ackCounts.keys.sorted(by: >) {
                counted += self.ackCounts[time]!
                if counted >= needed { return time + lease }
            }
            return nil
        }
        // The voter set changed since the buckets were built: count the slow way.
        let others = self.acknowledged.filter { $0.key != self.me && view.isVoter($0.key) }.map(\.value).sorted(by: >)
        guard others.count >= needed else { return nil }
        return others[needed - 1] + lease
    }

    mutating func acknowledge(_ voter: String, sentAt: Instant, view: ElectionView) {
        let old = self.acknowledged[voter]
        guard old.map({ sentAt > $0 }) ?? true else { return }
        self.acknowledged[voter] = sentAt
        guard self.ackCountsDigest == view.votersDigest, voter != self.me else {
            self.rebuildAckCounts(view: view)
            return
        }
        if let old {
            let left = (self.ackCounts[old] ?? 1) - 1
            self.ackCounts[old] = left > 0 ? left : nil
        }
        self.ackCounts[sentAt, default: 0] += 1
    }

    mutating func rebuildAckCounts(view: ElectionView) {
        self.ackCounts = [:]
        for (voter, time) in self.acknowledged where voter != self.me && view.isVoter(voter) {
            self.ackCounts[time, default: 0] += 1
        }
        self.ackCountsDigest = view.votersDigest
    }

    func leaseHeld(at now: Instant, view: ElectionView) -> Bool {
        guard let end = self.leaderLeaseEnd(view: view) else { return false }
        return now < end
    }

    func randomTimeout(_ rng: inout DeterministicRNG) -> Duration {
        let low = self.settings.electionTimeoutMin
        let span = self.settings.electionTimeoutMax - low
        return low + span.scaled(by: rng.nextUnit())
    }

    /// When this machine next needs a tick.
    public func nextDeadline() -> Instant {
        switch self.role {
        case .leader: return self.nextHeartbeatAt
        case .follower, .candidate:
            var next = self.electionDeadline ?? .zero
            if self.leader != nil { next = min(next, self.promisedUntil) }
            return next
        }
    }
}

/// What the election needs to know of the membership, built by `Instance`.
public struct ElectionView: Sendable, Equatable {
    /// The voters counted in the quorum denominator: every member not left and not
    /// fenced (failed members still count), or the configured voter set.
    let voterSet: Set<String>
    /// Identifies the voter set, so a voter can check that a candidate counts the same.
    public private(set) var votersDigest: UInt64
    /// Who hears heartbeats (live members; voters acknowledge).
    public var heartbeatTargets: [String]
    /// Whether this node may stand for election (healthy, not isolated, not failed).
    public var canStand: Bool
    /// Whether this node may go on leading (not declared failed, not left).
    public var canLead: Bool
    /// Whether this node may grant votes and pre-votes. A member that joined a cluster
    /// without configured voters less than a lease ago abstains (``Instance`` decides).
    public var canVote: Bool
    /// Whom to ask, when given explicitly; else the voters among `heartbeatTargets`.
    private var explicitReachable: [String]?

    public init(
        voters: [String], reachableVoters: [String], heartbeatTargets: [String], canStand: Bool, canLead: Bool,
        canVote: Bool = true
    ) {
        self.init(
            voterSet: Set(voters), digest: Self.digest(of: voters), heartbeatTargets: heartbeatTargets,
            canStand: canStand, canLead: canLead, canVote: canVote)
        self.explicitReachable = reachableVoters
    }

    /// With the voter set and its digest already known (`Instance` keeps them current);
    /// the voters to ask are then the live ones among `heartbeatTargets`.
    init(
        voterSet: Set<String>, digest: UInt64, heartbeatTargets: [String], canStand: Bool, canLead: Bool,
        canVote: Bool
    ) {
        self.voterSet = voterSet
        self.votersDigest = digest
        self.heartbeatTargets = heartbeatTargets
        self.canStand = canStand
        self.canLead = canLead
        self.canVote = canVote
        self.explicitReachable = nil
    }

    /// The voters, sorted (for display: the election itself only counts and looks up).
    public var voters: [String] { self.voterSet.sorted() }

    /// How many voters the denominator has.
    public var voterCount: Int { self.voterSet.count }

    /// The voters currently live (alive or suspect) here: whom to ask, in name order.
    /// Built on demand: only a node that stands needs it.
    public var reachableVoters: [String] {
        self.explicitReachable ?? self.heartbeatTargets.filter { self.voterSet.contains($0) }
    }

    /// Whether `name` is one of the voters (a hash lookup: the leader asks per ack).
    public func isVoter(_ name: String) -> Bool { self.voterSet.contains(name) }

    /// Whether a candidate that sent this digest and count counts the same voters.
    func counts(sameVotersAs digest: UInt64, _ count: UInt32) -> Bool {
        digest == self.votersDigest && Int(count) == self.voterSet.count
    }

    /// More than half of the voters.
    public var majority: Int { self.voterSet.count / 2 + 1 }

    /// An order-independent digest of a voter set: the wrapping sum of one hash per
    /// name, bound to the count. `Instance` keeps the sum as members come and go (one
    /// addition or subtraction per change) instead of hashing every voter again.
    static func digest(of names: some Sequence<String>) -> UInt64 {
        var sum: UInt64 = 0
        var count = 0
        for name in Set(names) {
            sum &+= Self.digestTerm(name)
            count += 1
        }
        return Self.digest(sum: sum, count: count)
    }

    static func digestTerm(_ name: String) -> UInt64 {
        StableHash.hash(name, salt: 0x6C65_6164_6572)  // "leader"
    }

    static func digest(sum: UInt64, count: Int) -> UInt64 {
        StableHash.combine(StableHash.combine(0x6C65_6164_6572, sum), UInt64(count))
    }
}

/// An election message (carried as a `Message` on the wire).
public enum ElectionMessage: Equatable, Sendable {
    /// Would you vote for me in `term`? (Changes nothing at the voter.)
    case preVoteRequest(term: UInt64, voters: UInt64, count: UInt32)
    case preVoteReply(term: UInt64, granted: Bool)
    /// Raft's RequestVote; `voters`/`count` identify the candidate's voter set.
    case voteRequest(term: UInt64, voters: UInt64, count: UInt32)
    case voteReply(term: UInt64, granted: Bool)
    /// The leader renews its lease (Raft's empty AppendEntries).
    case heartbeat(term: UInt64, seq: UInt32)
    /// A voter acknowledges heartbeat `seq` of `term` (or names a newer term).
    case heartbeatAck(term: UInt64, seq: UInt32)
}

extension ElectionMessage {
    /// Whether this answers a request: a vote or pre-vote reply, or a heartbeat's ack.
    var answers: Bool {
        switch self {
        case .preVoteReply, .voteReply, .heartbeatAck: true
        case .preVoteRequest, .voteRequest, .heartbeat: false
        }
    }
}

/// The election state that must survive a restart: Raft's `currentTerm` and `votedFor`.
public struct ElectionRecord: Sendable, Equatable, Codable {
    public var term: UInt64
    public var votedFor: String?

    public init(term: UInt64, votedFor: String?) {
        self.term = term
        self.votedFor = votedFor
    }
}

/// What the election asks `Instance` to do.
public enum ElectionAction: Equatable, Sendable {
    case send(ElectionMessage, to: String)
    /// Write this durably before carrying out anything that follows.
    case persist(ElectionRecord)
    /// This node's idea of the leader of `term` changed (`nil`: none known).
    case leaderChanged(term: UInt64, leader: String?)
}
