extension Instance {
    /// Push-pull interval: the configured one up to 64 live members, then growing
    /// linearly with N so the sync bytes per node per second stay flat.
    func syncInterval() -> Duration {
        let n = self.liveOthers.count + 1
        return self.configuration.gossip.syncInterval.scaled(by: max(1, Double(n) / 64))
    }

    /// An order-independent digest of the membership (name, incarnation, terminal
    /// status), equal on two nodes whose views agree. Suspicions are transient and
    /// do not count.
    public var stateDigest: UInt64 {
        var digest = Self.digestTerm(self.me)
        for entry in self.entries.values {
            digest ^= Self.digestTerm(entry.member)
        }
        // Keys count too, so that a node that missed a keyring record or a report
        // while the membership stayed the same still gets it from the next sync.
        if let record = self.keyringRecord {
            digest ^= StableHash.combine(StableHash.hash(record.issuer, salt: Self.keyringDigestSalt), record.version)
        }
        for report in self.keyReports.values {
            digest ^= StableHash.combine(StableHash.hash(report.member, salt: Self.keyReportDigestSalt), report.sequence)
        }
        // HA steps too: a new leader must not miss that a node was already fenced.
        for record in self.haRecords.values {
            let step = UInt64(record.life) << 40 ^ record.term << 20 ^ UInt64(record.sequence)
            digest ^= StableHash.combine(StableHash.hash(record.node, salt: Self.haDigestSalt), step)
        }
        return digest
    }

    private static let keyringDigestSalt: UInt64 = 0x6B65_7972_696E_6700  // "keyring"
    private static let keyReportDigestSalt: UInt64 = 0x6B65_7973_0000_0000  // "keys"
    private static let haDigestSalt: UInt64 = 0x6861_0000_0000_0000  // "ha"

    static func digestTerm(_ member: Member) -> UInt64 {
        // Failed and left are final for a life, whatever incarnation each node last
        // heard of: count the life alone so that such views still agree.
        let value: UInt64 =
            switch member.status {
            case .alive, .suspect: member.incarnation &* 4
            case .failed: UInt64(Incarnation.life(of: member.incarnation)) &* 4 &+ 2
            case .left: UInt64(Incarnation.life(of: member.incarnation)) &* 4 &+ 3
            }
        return StableHash.combine(StableHash.hash(member.name), value)
    }

    /// The full state, with the proofs behind failed and left members.
    public var fullState: MembershipState {
        var state = MembershipState(members: self.members)
        for entry in self.entries.values {
            if let certificate = entry.certificate { state.votes += certificate.votes }
            if let departure = entry.departure { state.departures.append(departure) }
            if let removal = entry.removal { state.removals.append(removal) }
        }
        if let own = self.ownCertificate { state.votes += own.votes }
        state.votes.sort { ($0.subject, $0.observer) < ($1.subject, $1.observer) }
        state.departures.sort { $0.name < $1.name }
        state.removals.sort { $0.name < $1.name }
        state.keyring = self.keyringRecord
        state.keyReports = self.keyReports.values.sorted { $0.member < $1.member }
        state.haRecords = self.haRecords.values.sorted { $0.node < $1.node }
        return state
    }

    /// Opens a digest-only push-pull with one random live member.
    mutating func startSync() {
        self.nextSyncAt = self.now + self.syncInterval().scaled(by: 0.75 + 0.5 * self.rng.nextUnit())
        guard !self.liveOthers.isEmpty else { return }
        let name = self.liveOthers[Int(self.rng.next() % UInt64(self.liveOthers.count))]
        guard let address = self.entries[name]?.member.address else { return }
        let sync = Sync(digest: self.stateDigest, replyWanted: true, state: nil)
        self.output.append(.stream(Packet(sender: self.me.name, message: .sync(sync)), to: address))
    }

    /// Gossip reaches all but a tiny share of nodes (the epidemic tail). A node still
    /// holding a suspicion long after every window ran out — no refutation, no
    /// certificate — probably missed the outcome: it pulls state from a random peer
    /// at once instead of waiting for the next periodic sync. Checked once a period.
    mutating func repairStaleSuspicions() {
        let lifeguard = self.configuration.lifeguard
        let stale = lifeguard.suspicionMax.scaled(by: 2) + self.configuration.probe.period.scaled(by: 2)
        guard self.now - self.lastRepairSyncAt > stale else { return }
        let missed = self.suspects.contains { name in
            self.entries[name]?.suspicion.map { self.now - $0.start > stale } ?? false
        }
        if missed {
            self.lastRepairSyncAt = self.now
            self.startSync()
        }
    }

    /// Joins by pushing our own record to every seed and asking for their state.
    /// Unanswered attempts back off: 4 periods, then twice as long each time, up to
    /// the sync interval (seeds that are down for a long time cost little).
    mutating func attemptJoin() {
        let first = self.configuration.probe.period.scaled(by: 4)
        let backoff = first.scaled(by: Double(1 << min(self.joinAttempts, 16)))
        self.joinAttempts += 1
        self.nextJoinAttempt = self.now + min(backoff, max(first, self.configuration.gossip.syncInterval))
        let sync = Sync(digest: self.stateDigest, replyWanted: true, state: self.fullState)
        for seed in self.seeds {
            self.output.append(.stream(Packet(sender: self.me.name, message: .sync(sync)), to: seed))
        }
    }

    mutating func handleSync(_ sync: Sync, from address: Address, sender: String) {
        if let state = sync.state {
            self.merge(state, from: sender)
        }
        guard sync.replyWanted else { return }
        let digest = self.stateDigest
        if sync.state == nil && sync.digest == digest { return }  // views agree
        let reply = Sync(digest: digest, replyWanted: sync.state == nil, state: self.fullState)
        self.output.append(.stream(Packet(sender: self.me.name, message: .sync(reply)), to: address))
    }

    /// Merges a peer's full state: alive records as gossip, failed members only with
    /// a certificate that verifies here, left members only with a valid departure or
    /// a valid operator removal.
    /// The sender's own record is news (a joiner announcing itself) and is gossiped on;
    /// the rest of its view is not.
    mutating func merge(_ state: MembershipState, from sender: String) {
        var votesBySubject: [String: [Vote]] = [:]
        for vote in state.votes {
            votesBySubject[vote.subject, default: []].append(vote)
        }
        var departures: [String: Departure] = [:]
        for departure in state.departures {
            departures[departure.name] = departure
        }
        var removals: [String: Removal] = [:]
        for removal in state.removals {
            removals[removal.name] = removal
        }
        // Live members first, so certificates below are checked against a full view
        // (and removals against the issuers' keys).
        self.batchingLiveChanges { this in
            for member in state.members where member.status.isLive {
                this.applyAlive(member, regossip: member.name == sender)
            }
        }
        for member in state.members where !member.status.isLive {
            switch member.status {
            case .alive, .suspect:
                break  // merged above
            case .failed:
                let votes = (votesBySubject[member.name] ?? []).filter { $0.incarnation == member.incarnation }
                if member.name == self.me.name {
                    self.applyVotesAgainstMe(votes)
                } else if self.entries[member.name] == nil {
                    self.adoptFailed(member, votes: votes)
                } else {
                    self.applyCertificate(
                        FailureCertificate(subject: member.name, incarnation: member.incarnation, votes: votes))
                }
            case .left:
                if let departure = departures[member.name] {
                    if self.entries[member.name] == nil && member.name != self.me.name,
                        member.identityKey.isValidSignature(departure.signature, for: departure.signedBytes)
                    {
                        var record = member
                        record.status = .left
                        var entry = MemberEntry(member: record)
                        entry.departure = departure
                        self.entries[member.name] = entry
                        self.voterMayHaveChanged(member.name)
                        self.publish(
                            .statusChanged(member: member.name, from: nil, to: .left, incarnation: member.incarnation))
                    } else {
                        self.applyDeparture(departure)
                    }
                } else if let removal = removals[member.name], member.name != self.me.name {
                    if self.entries[member.name] == nil {
                        self.adoptRemoved(member, removal: removal)
                    } else {
                        self.applyRemoval(removal)
                    }
                }
            }
        }
        // After the members: a record's issuer and a report's member must be known.
        if let record = state.keyring {
            self.applyKeyring(record)
        }
        for report in state.keyReports {
            self.applyKeyReport(report, regossip: report.member == sender)
        }
        for record in state.haRecords {
            self.applyHA(record)
        }
    }

    /// A removed member we never knew (we are joining): keep it as left if its issuer
    /// is a member we know and the issuer's signature verifies, so that gossip of its
    /// old life cannot bring it back here.
    mutating func adoptRemoved(_ member: Member, removal: Removal) {
        guard Incarnation.life(of: removal.incarnation) == Incarnation.life(of: member.incarnation),
            self.verifySignature(of: removal)
        else { return }
        var record = member
        record.status = .left
        var entry = MemberEntry(member: record)
        entry.removal = removal
        self.entries[member.name] = entry
        self.voterMayHaveChanged(member.name)
        self.publish(.statusChanged(member: member.name, from: nil, to: .left, incarnation: member.incarnation))
    }

    /// A failed member we never knew: keep it only if its certificate verifies.
    mutating func adoptFailed(_ member: Member, votes: [Vote]) {
        let signed = votes.filter { self.verifySignature(of: $0) }
        let certificate = FailureCertificate(subject: member.name, incarnation: member.incarnation, votes: signed)
        // The voters chose observers from a view without us (we are joining now):
        // check against that view.
        let voterView = ObserverRings(k: self.configuration.probe.observers, members: self.liveOthers)
        guard let proven = Self.quorumSubset(of: certificate, observers: voterView.observers(of: member.name))
        else { return }
        var record = member
        record.status = .failed
        var entry = MemberEntry(member: record)
        entry.certificate = proven
        self.entries[member.name] = entry
        self.voterMayHaveChanged(member.name)
        self.publish(.statusChanged(member: member.name, from: nil, to: .failed, incarnation: member.incarnation))
        self.publish(.failureCertified(proven))
        self.certifiedAt[member.name] = self.now
    }
}
