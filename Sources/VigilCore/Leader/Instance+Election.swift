extension Instance {
    /// The quorum denominator as the election sees it now.
    mutating func electionView() -> ElectionView {
        self.settleVoterChanges()
        let healthy = self.health.score <= self.configuration.lifeguard.voteHealthLimit
        // Fenced and back, not yet returned to service: it neither stands nor leads.
        let alive = self.started && !self.hasLeft && self.ownCertificate == nil && !self.isFenced(self.me.name)
        // A node told to join others that has heard from none of them yet counts only
        // itself: standing then, it would be a majority of one (a restart won a term
        // another node already held: seeds 172, 782, 816, 894 of the HA properties).
        let joining = self.entries.isEmpty && !self.seeds.isEmpty
        if self.joinedAt == nil && self.started && !joining { self.joinedAt = self.now }
        // Without configured voters, each node counts the voters it knows, and during
        // a bulk join those sets differ and grow: a candidate could win a majority of
        // 20 known voters while another wins a majority of 40, from the 20 newest, in
        // the same term (`vigil simulate --nodes 200`, 100 ms apart, seeds 1-3). So a
        // member votes only a lease after it joined. By then gossip has told every
        // member of it, so the voters of any two candidates are the members older than
        // a lease, whom both count: two majorities of sets that hold all of them share
        // a voter, who votes once a term. It has also heard any leader's heartbeats,
        // and promised to it. A configured voter set is the same everywhere: no wait.
        let settled =
            !self.configuration.election.voters.isEmpty
            || self.joinedAt.map { self.now - $0 >= self.configuration.election.leaseDuration } ?? false
        return ElectionView(
            voterSet: self.voterSet, digest: ElectionView.digest(sum: self.voterDigestSum, count: self.voterSet.count),
            heartbeatTargets: self.liveOthers, canStand: alive && healthy && !self.isolated && !joining,
            canLead: alive, canVote: settled)
    }

    /// `name` joined, left, or was fenced or returned to service: its place in the
    /// quorum denominator is checked at the next `electionView()`.
    mutating func voterMayHaveChanged(_ name: String) {
        self.voterChanges.append(name)
    }

    /// Brings the voter set up to date with the names changed since the last call.
    /// By default every member not left (failed members count until fenced or gone:
    /// a partition's minority side can never reach a majority) and not fenced (their
    /// power is off, for good this life) votes; a configured voter set is fixed.
    mutating func settleVoterChanges() {
        guard !self.voterChanges.isEmpty else { return }
        let configured = self.configuration.election.voters
        if !configured.isEmpty {
            if !self.votersConfigured {
                self.votersConfigured = true
                self.voterSet = Set(configured)
                self.voterDigestSum = self.voterSet.reduce(0) { $0 &+ ElectionView.digestTerm($1) }
            }
            self.voterChanges.removeAll()
            return
        }
        for name in self.voterChanges {
            let votes: Bool
            if name == self.me.name {
                votes = self.me.status != .left && !self.isFenced(name)
            } else if let entry = self.entries[name] {
                votes = entry.member.status != .left && !self.isFenced(name)
            } else {
                votes = false
            }
            if votes {
                if self.voterSet.insert(name).inserted { self.voterDigestSum &+= ElectionView.digestTerm(name) }
            } else if self.voterSet.remove(name) != nil {
                self.voterDigestSum &-= ElectionView.digestTerm(name)
            }
        }
        self.voterChanges.removeAll(keepingCapacity: true)
    }

    /// Runs the election's timers (called from `tick`).
    mutating func runElection() {
        let view = self.electionView()
        let actions = self.election.tick(now: self.now, view: view, rng: &self.rng)
        self.carry(actions)
    }

    mutating func handleElection(_ message: ElectionMessage, from sender: String) {
        guard self.entries[sender]?.member.status.isLive == true else {
            self.publish(.dropped(reason: .notAMember))
            return
        }
        let view = self.electionView()
        let actions = self.election.receive(message, from: sender, now: self.now, view: view, rng: &self.rng)
        self.carry(actions)
    }

    mutating func carry(_ actions: [ElectionAction]) {
        for action in actions {
            switch action {
            case .send(let message, let name):
                guard let address = self.entries[name]?.member.address else { continue }
                // Replies and acks all go to one node, the candidate or the leader: gossip
                // on them would spend the newest news's few transmissions on that one node,
                // and a join then reached the others only at the next push-pull sync (a
                // 200-node warm-up with elections under way took 60 s instead of 20).
                self.send(.election(message), to: address, gossip: !message.answers)
            case .persist(let record):
                self.output.append(.persist(.election(record)))
            case .leaderChanged(let term, let leader):
                self.publish(.leaderChanged(term: term, leader: leader))
            }
        }
    }

    /// Who leads, as this node sees it (`vigil leader`).
    public var leaderStatus: LeaderStatus {
        var copy = self
        let view = copy.electionView()
        let role: String =
            switch self.election.role {
            case .leader: "leader"
            case .candidate: "candidate"
            case .follower: "follower"
            }
        let end = self.election.leaseEnd(view: view)
        return LeaderStatus(
            leader: self.election.leader, term: self.election.term, role: role,
            leaseRemaining: end.map { $0 == .distantFuture ? nil : max(.zero, $0 - self.now) } ?? nil,
            voters: view.voters, majority: view.majority, votedFor: self.election.votedFor)
    }

    /// Whether this node leads with a valid lease now (the only state in which it
    /// may fence or recover).
    public var isLeader: Bool {
        var copy = self
        let view = copy.electionView()
        return self.election.isLeader(at: self.now, view: view)
    }
}

/// `vigil leader`: who leads which term, as one node sees it.
public struct LeaderStatus: Sendable, Equatable {
    /// The leader of `term`, if known.
    public var leader: String?
    public var term: UInt64
    /// This node's role: `leader`, `candidate` or `follower`.
    public var role: String
    /// For the leader: until its lease ends unless renewed; for a follower: until
    /// its promise to the leader ends.
    public var leaseRemaining: Duration?
    /// The quorum denominator's voters and the majority needed among them.
    public var voters: [String]
    public var majority: Int
    public var votedFor: String?
}
