import VigilCrypto

extension Instance {
    /// For each subject: start a local suspicion when the latest probe round failed
    /// and phi crossed the threshold; vote when the suspicion window ran out.
    mutating func evaluateSubjects() {
        guard self.ownCertificate == nil else { return }
        let threshold = self.configuration.phi.threshold
        // Runs on every tick for every subject: the watch and the entry are read in
        // place through their dictionary indices (`values[i]` borrows), not copied
        // whole as `watches[name]` and `entries[name]` would.
        for name in self.subjects {
            guard let w = self.watches.index(forKey: name), let e = self.entries.index(forKey: name),
                self.entries.values[e].member.status.isLive
            else {
                continue
            }
            let incarnation = self.entries.values[e].member.incarnation
            var suspects = self.watches.values[w].suspects
            // An observer too unhealthy to vote (Lifeguard) does not raise suspicions
            // either: a node losing most of its own packets would otherwise get
            // healthy members suspected everywhere, if only until they refute.
            if !suspects, !self.isolated, self.watches.values[w].lastRoundFailed, self.healthyEnoughToVote,
                self.watches.values[w].detector.phi(at: self.now) >= threshold || self.failsChronically(name)
            {
                suspects = true
                self.watches.values[w].suspects = true
                self.stats.suspicionsRaised &+= 1
                self.applySuspicion(Suspicion(subject: name, incarnation: incarnation, observer: self.me.name))
            }
            // applySuspicion changes neither this watch nor the subject's incarnation
            // here (the suspicion is of that incarnation), but may have moved the tables.
            guard let w2 = self.watches.index(forKey: name),
                self.watches.values[w2].votedIncarnation != incarnation, self.mayVote(),
                let e2 = self.entries.index(forKey: name), self.entries.values[e2].member.status == .suspect,
                let timer = self.entries.values[e2].suspicion
            else { continue }
            if suspects && timer.isExpired(at: self.now) {
                self.castVote(on: name, incarnation: self.entries.values[e2].member.incarnation)
            } else {
                self.voteIfFlapping(name)
            }
        }
    }

    /// Lifeguard: an unhealthy observer does not vote; nor does one that suspects
    /// most of the cluster (it is likely the one cut off).
    mutating func mayVote() -> Bool {
        guard !self.isolated, self.ownCertificate == nil, !self.hasLeft,
            self.healthyEnoughToVote
        else { return false }
        let live = self.liveOthers.count
        guard live > 0 else { return false }
        return Double(self.suspects.count) <= self.configuration.quorum.maxSuspectShareToVote * Double(live)
    }

    /// Lifeguard's health part of `mayVote`.
    var healthyEnoughToVote: Bool {
        self.health.score <= self.configuration.lifeguard.voteHealthLimit
    }

    /// Whether one of this observer's probe rounds of the subject failed within the
    /// flap window.
    func failedRecently(_ watch: SubjectWatch) -> Bool {
        guard let at = watch.lastFailedRoundAt else { return false }
        return self.now - at <= self.configuration.quorum.flapWindow
    }

    /// The chronic-failure rule (`Configuration.Quorum.grayRoundFailureShare`): this
    /// observer's rounds of `subject` fail often, and far more often than its rounds of
    /// its other subjects (so neither loss everywhere nor this node's own trouble
    /// counts). With no other subject to compare with, never.
    func failsChronically(_ subject: String) -> Bool {
        let quorum = self.configuration.quorum
        guard let watch = self.watches[subject], watch.rounds >= quorum.grayMinRounds,
            watch.roundFailureRate >= quorum.grayRoundFailureShare
        else { return false }
        var others = 0.0
        var count = 0
        for (name, other) in self.watches where name != subject && other.rounds >= quorum.grayMinRounds {
            others += other.roundFailureRate
            count += 1
        }
        guard count > 0 else { return false }
        return watch.roundFailureRate >= quorum.grayFailureRatio * (others / Double(count))
    }

    /// The documented rule for gray failures: a member that refuted `flapLimit`
    /// suspicions within `flapWindow` is voted against as soon as it is suspected.
    func isFlapping(_ entry: MemberEntry) -> Bool {
        let quorum = self.configuration.quorum
        guard entry.refutations.count >= quorum.flapLimit, let oldest = entry.refutations.first else {
            return false
        }
        return self.now - oldest <= quorum.flapWindow
    }

    mutating func castVote(on subject: String, incarnation: UInt64) {
        let bytes = Vote.signedBytes(subject: subject, incarnation: incarnation, observer: self.me.name)
        let vote = Vote(
            subject: subject, incarnation: incarnation, observer: self.me.name,
            signature: self.identity.sign(bytes))
        self.watches[subject]?.votedIncarnation = incarnation
        self.stats.votesCast &+= 1
        self.applyVote(vote)
    }

    /// Checks a vote, keeps it, re-gossips it, and declares failure on a quorum.
    mutating func applyVote(_ vote: Vote) {
        if vote.subject == self.me.name {
            self.applyVotesAgainstMe([vote])
            return
        }
        guard var entry = self.entries[vote.subject], entry.member.status.isLive,
            vote.incarnation >= entry.member.incarnation
        else { return }
        if entry.votes[vote.observer]?.incarnation == vote.incarnation && vote.incarnation == entry.member.incarnation {
            return  // already have it
        }
        guard self.verifySignature(of: vote) else {
            self.publish(.dropped(reason: .badSignature))
            return
        }
        // A vote is also a suspicion: it starts or confirms the window.
        self.applySuspicion(Suspicion(subject: vote.subject, incarnation: vote.incarnation, observer: vote.observer))
        entry = self.entries[vote.subject]!
        entry.votes[vote.observer] = vote
        self.entries[vote.subject] = entry
        self.queue.enqueue(
            .vote(vote), key: .vote(subject: vote.subject, observer: vote.observer), priority: .failureNews)
        let certificate = FailureCertificate(
            subject: vote.subject, incarnation: entry.member.incarnation,
            votes: entry.votes.values.filter { $0.incarnation == entry.member.incarnation }.sorted {
                $0.observer < $1.observer
            })
        if let proven = self.quorumSubset(of: certificate) {
            self.declareFailed(proven)
        }
        self.voteIfFlapping(vote.subject)
    }

    /// A flapping member is voted on as soon as it is suspected, by every observer
    /// whose own rounds of it failed within the flap window: with loss on one side
    /// only, few observers suspect it at the same instant before its next refutation,
    /// and it would flap for ever (chaos `gray`). So is one whose rounds fail
    /// chronically, in this observer's eyes. Called on every tick and also when a
    /// suspicion or a vote arrives: the refutation is a round trip away, and the next
    /// tick may come after it (bursts of suspicions refuted within milliseconds).
    mutating func voteIfFlapping(_ subject: String) {
        guard let watch = self.watches[subject], let entry = self.entries[subject],
            entry.member.status == .suspect, watch.votedIncarnation != entry.member.incarnation,
            self.isFlapping(entry) || self.failsChronically(subject), watch.suspects || self.failedRecently(watch),
            self.mayVote()
        else { return }
        self.castVote(on: subject, incarnation: entry.member.incarnation)
    }

    /// Votes against this node, taken as one batch (one packet or one synced state).
    /// A quorum against any incarnation of this life is final — even one we already
    /// refuted, since the cluster acted on it; a lesser number against the current
    /// incarnation is refuted.
    mutating func applyVotesAgainstMe(_ votes: [Vote]) {
        guard self.ownCertificate == nil, !self.hasLeft else { return }
        let life = Incarnation.life(of: self.me.incarnation)
        var byIncarnation: [UInt64: [String: Vote]] = [:]
        for vote in votes where vote.subject == self.me.name {
            guard Incarnation.life(of: vote.incarnation) == life, vote.incarnation <= self.me.incarnation else {
                continue
            }
            if vote.incarnation == self.me.incarnation {
                guard self.votesAgainstMe[vote.observer] == nil, self.verifySignature(of: vote) else { continue }
                self.votesAgainstMe[vote.observer] = vote
            } else {
                guard self.verifySignature(of: vote) else { continue }
                byIncarnation[vote.incarnation, default: [:]][vote.observer] = vote
            }
        }
        byIncarnation[self.me.incarnation] = self.votesAgainstMe
        for incarnation in byIncarnation.keys.sorted() {
            let certificate = FailureCertificate(
                subject: self.me.name, incarnation: incarnation,
                votes: byIncarnation[incarnation]!.values.sorted { $0.observer < $1.observer })
            if let proven = self.quorumSubset(of: certificate) {
                // Failed is final for this life: no refutation, no votes, no probes.
                self.ownCertificate = proven
                let old = self.me.status
                self.me.status = .failed
                self.setLive(self.me.name, false)
                self.publish(.statusChanged(member: self.me.name, from: old, to: .failed, incarnation: incarnation))
                self.publish(.declaredFailed(proven))
                return
            }
        }
        if !self.votesAgainstMe.isEmpty && votes.contains(where: { $0.incarnation == self.me.incarnation }) {
            self.refute(above: self.me.incarnation)
        }
    }

    func verifySignature(of vote: Vote) -> Bool {
        guard let key = self.member(named: vote.observer)?.identityKey else { return false }
        return key.isValidSignature(vote.signature, for: vote.signedBytes)
    }

    /// The votes of `certificate` that come from distinct current observers of its
    /// subject, if they are more than half of those observers; otherwise `nil`.
    /// Signatures are assumed checked (see `verify(_:)` for untrusted certificates).
    mutating func quorumSubset(of certificate: FailureCertificate) -> FailureCertificate? {
        Self.quorumSubset(of: certificate, observers: self.observers(of: certificate.subject))
    }

    static func quorumSubset(of certificate: FailureCertificate, observers: [String]) -> FailureCertificate? {
        guard !observers.isEmpty else { return nil }
        var seen = Set<String>()
        let counted = certificate.votes.filter {
            $0.subject == certificate.subject && $0.incarnation == certificate.incarnation
                && observers.contains($0.observer) && seen.insert($0.observer).inserted
        }
        guard counted.count * 2 > observers.count else { return nil }
        return FailureCertificate(subject: certificate.subject, incarnation: certificate.incarnation, votes: counted)
    }

    /// Checks an untrusted certificate against this node's view: every counted vote
    /// signed by a distinct current observer of the subject, for one incarnation,
    /// and more than half of the observers voting. Forged, duplicated, foreign or
    /// mixed-incarnation votes do not count.
    public func verify(_ certificate: FailureCertificate) -> Bool {
        let signed = certificate.votes.filter { self.verifySignature(of: $0) }
        let observers = self.rings.observers(of: certificate.subject)
        return Self.quorumSubset(
            of: FailureCertificate(subject: certificate.subject, incarnation: certificate.incarnation, votes: signed),
            observers: observers) != nil
    }

    /// A gossiped certificate: its votes are checked one by one like any vote, so a
    /// certificate never counts for more than the valid votes inside it.
    mutating func applyCertificate(_ certificate: FailureCertificate) {
        let votes = certificate.votes.filter {
            $0.subject == certificate.subject && $0.incarnation == certificate.incarnation
        }
        if certificate.subject == self.me.name {
            self.applyVotesAgainstMe(votes)
            return
        }
        guard let entry = self.entries[certificate.subject], entry.member.status.isLive else { return }
        if certificate.incarnation < entry.member.incarnation {
            // A certificate against an incarnation the member has since refuted is
            // still final if it is of the same life: the cluster may have acted on it.
            guard Incarnation.life(of: certificate.incarnation) == Incarnation.life(of: entry.member.incarnation)
            else { return }
            let signed = votes.filter { self.verifySignature(of: $0) }
            let candidate = FailureCertificate(
                subject: certificate.subject, incarnation: certificate.incarnation, votes: signed)
            if let proven = self.quorumSubset(of: candidate) {
                self.declareFailed(proven)
            }
            return
        }
        for vote in votes {
            guard self.entries[certificate.subject]?.member.status.isLive == true else { break }
            self.applyVote(vote)
        }
    }

    mutating func declareFailed(_ certificate: FailureCertificate) {
        guard var entry = self.entries[certificate.subject], entry.member.status.isLive else { return }
        let old = entry.member.status
        entry.member.status = .failed
        self.suspects.remove(certificate.subject)
        entry.member.incarnation = certificate.incarnation
        entry.certificate = certificate
        entry.suspicion = nil
        self.entries[certificate.subject] = entry
        self.setLive(certificate.subject, false)
        self.stats.certificates &+= 1
        self.publish(
            .statusChanged(
                member: certificate.subject, from: old, to: .failed, incarnation: certificate.incarnation))
        self.publish(.failureCertified(certificate))
        self.certifiedAt[certificate.subject] = self.now
        self.queue.enqueue(.failed(certificate), key: .member(certificate.subject), priority: .failureNews)
    }
}
