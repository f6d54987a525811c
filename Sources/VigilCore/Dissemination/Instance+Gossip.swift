extension Instance {
    /// Merges one piece of gossip into this node's view (merge order: `Liveness`).
    mutating func apply(_ update: Update) {
        switch update {
        case .alive(let member):
            self.applyAlive(member)
        case .suspect(let suspicion):
            self.applySuspicion(suspicion)
            self.voteIfFlapping(suspicion.subject)
        case .vote(let vote):
            self.applyVote(vote)
        case .left(let departure):
            self.applyDeparture(departure)
        case .failed(let certificate):
            self.applyCertificate(certificate)
        case .removed(let removal):
            self.applyRemoval(removal)
        case .keyring(let record):
            self.applyKeyring(record)
        case .keyReport(let report):
            self.applyKeyReport(report, regossip: true)
        case .ha(let record):
            self.applyHA(record)
        }
    }

    /// - Parameter regossip: whether to pass the news on. Records learned in bulk
    ///   from a synced state are not: the peer's whole view is no news to the rest.
    mutating func applyAlive(_ incoming: Member, regossip: Bool = true) {
        if incoming.name == self.me.name {
            guard incoming.identityKey == self.me.identityKey else {
                self.publish(.identityConflict(name: incoming.name, address: incoming.address))
                return
            }
            // Someone speaks of a newer life of ours (we restarted low): move above it.
            if incoming.incarnation > self.me.incarnation { self.refute(above: incoming.incarnation) }
            return
        }
        guard var entry = self.entries[incoming.name] else {
            var member = incoming
            member.status = .alive
            self.entries[incoming.name] = MemberEntry(member: member)
            self.setLive(member.name, true)
            self.publish(.statusChanged(member: member.name, from: nil, to: .alive, incarnation: member.incarnation))
            if regossip { self.queue.enqueue(.alive(member), key: .member(member.name), priority: .routine) }
            return
        }
        guard entry.member.identityKey == incoming.identityKey else {
            self.publish(.identityConflict(name: incoming.name, address: incoming.address))
            return
        }
        guard incoming.incarnation > entry.member.incarnation else { return }
        let old = entry.member.status
        // Failed and left are final for a life: only a restart (a new life) returns.
        if !old.isLive
            && Incarnation.life(of: incoming.incarnation) <= Incarnation.life(of: entry.member.incarnation)
        {
            return
        }
        let wasRefutation = old == .suspect
        // A member moves to a higher incarnation within one life only to refute (SWIM
        // §4.2), so the flap rule counts each such move, whether or not this view
        // showed the suspicion: views that missed one (a refutation that came first, a
        // suspicion set aside by `heardRecently`) would otherwise count fewer flaps
        // than the others, and no quorum of observers would see the member flapping.
        // Once per move, not per step: a jump learned after a partition is one event.
        if Incarnation.life(of: incoming.incarnation) == Incarnation.life(of: entry.member.incarnation) {
            let limit = self.configuration.quorum.flapLimit
            entry.refutations.append(self.now)
            if entry.refutations.count > limit {
                entry.refutations.removeFirst(entry.refutations.count - limit)
            }
        }
        entry.member.incarnation = incoming.incarnation
        entry.member.address = incoming.address
        entry.member.tags = incoming.tags
        entry.member.status = .alive
        self.suspects.remove(incoming.name)
        entry.suspicion = nil
        entry.heldSuspicion = nil
        entry.votes = [:]
        entry.certificate = nil
        entry.departure = nil
        entry.removal = nil
        entry.reconnect = nil
        self.entries[incoming.name] = entry
        if var watch = self.watches[incoming.name] {
            watch.suspects = false
            watch.lastRoundFailed = false
            if !old.isLive {  // a new life: its old rounds say nothing of it
                watch.roundFailureRate = 0
                watch.rounds = 0
            }
            self.watches[incoming.name] = watch
        }
        if !old.isLive { self.setLive(incoming.name, true) }
        if old != .alive {
            self.publish(
                .statusChanged(member: incoming.name, from: old, to: .alive, incarnation: incoming.incarnation))
        }
        self.queue.remove(.member(incoming.name))
        if regossip || wasRefutation || !old.isLive {
            self.queue.enqueue(
                .alive(entry.member), key: .member(incoming.name), priority: wasRefutation ? .failureNews : .routine)
        }
    }

    /// Whether this node observes `subject`, its own latest probe round of it
    /// succeeded within the last probe period plus the probe timeout (each observer
    /// probes each subject once a period, so a healthy subject always did), and none
    /// of its rounds of it failed within the flap window (a member that is itself
    /// losing packets, like the gray node, gets no benefit of the doubt: the flap rule
    /// needs its suspicions seen).
    func heardRecently(from subject: String) -> Bool {
        guard let watch = self.watches[subject], !watch.lastRoundFailed, !watch.suspects,
            !self.failedRecently(watch), let last = watch.detector.lastHeartbeat
        else { return false }
        return self.now - last <= self.configuration.probe.period + self.configuration.probe.timeout
    }

    mutating func applySuspicion(_ suspicion: Suspicion) {
        if suspicion.subject == self.me.name {
            if suspicion.incarnation >= self.me.incarnation { self.refute(above: suspicion.incarnation) }
            return
        }
        guard var entry = self.entries[suspicion.subject], entry.member.status.isLive,
            suspicion.incarnation >= entry.member.incarnation
        else { return }
        guard suspicion.observer == self.me.name || self.member(named: suspicion.observer)?.status.isLive == true
        else { return }
        // First-hand evidence outweighs a second-hand suspicion: an observer whose own
        // latest round of the subject succeeded within the last probe period (plus the
        // probe's timeout), and none failed lately, neither shows the subject as suspect
        // nor passes the suspicion on. Without this, one node losing most of what it
        // hears (chaos `gray`) gets a healthy member suspected in every view until it
        // refutes. Votes still count (`applyVote` keeps them), and in a crash no
        // observer heard from the subject that recently by the time the first
        // suspicion arrives.
        if suspicion.observer != self.me.name, self.heardRecently(from: suspicion.subject) {
            self.stats.suspicionsOutweighed &+= 1
            return
        }
        let observers = self.observers(of: suspicion.subject)
        // A member that does not observe the subject has no evidence of its own: it
        // shows a suspicion once a second observer raises one (or votes), so that one
        // observer alone — perhaps the one losing packets — cannot make a member
        // suspect in every view. Failure itself still needs a quorum of votes.
        var corroborated: Suspicion?
        if suspicion.observer != self.me.name, entry.member.status != .suspect, observers.count >= 2,
            !observers.contains(self.me.name)
        {
            if let held = entry.heldSuspicion, held.suspicion.observer != suspicion.observer,
                held.suspicion.incarnation == suspicion.incarnation,
                self.now - held.at <= self.configuration.lifeguard.suspicionMax
            {
                corroborated = held.suspicion
                entry.heldSuspicion = nil
            } else {
                entry.heldSuspicion = (suspicion, self.now)
                self.entries[suspicion.subject] = entry
                self.stats.suspicionsHeld &+= 1
                return
            }
        }
        if suspicion.incarnation > entry.member.incarnation {
            entry.member.incarnation = suspicion.incarnation
            entry.suspicion = nil
            entry.votes = [:]
        }
        var news = false
        if var timer = entry.suspicion {
            if observers.contains(suspicion.observer), timer.confirm(by: suspicion.observer) {
                entry.suspicion = timer
                news = true
            }
        } else {
            entry.suspicion = SuspicionTimer(
                start: self.now, expectedConfirmations: max(0, observers.count - 1),
                min: self.configuration.lifeguard.suspicionMin, max: self.configuration.lifeguard.suspicionMax,
                from: suspicion.observer)
            if let first = corroborated, observers.contains(first.observer) {
                _ = entry.suspicion!.confirm(by: first.observer)
            }
            news = true
        }
        let old = entry.member.status
        entry.member.status = .suspect
        self.suspects.insert(suspicion.subject)
        self.entries[suspicion.subject] = entry
        if old != .suspect {
            self.stats.membersSuspected &+= 1
            self.publish(
                .statusChanged(
                    member: suspicion.subject, from: old, to: .suspect, incarnation: entry.member.incarnation))
        }
        if news {
            for item in [corroborated, suspicion].compactMap({ $0 }) {
                self.queue.enqueue(
                    .suspect(item), key: .suspicion(subject: item.subject, observer: item.observer),
                    priority: .failureNews)
            }
        }
    }

    mutating func applyDeparture(_ departure: Departure) {
        guard departure.name != self.me.name else { return }
        guard var entry = self.entries[departure.name], entry.member.status != .left,
            departure.incarnation >= entry.member.incarnation
        else { return }
        guard entry.member.identityKey.isValidSignature(departure.signature, for: departure.signedBytes) else {
            self.publish(.dropped(reason: .badSignature))
            return
        }
        let old = entry.member.status
        entry.member.incarnation = departure.incarnation
        entry.member.status = .left
        self.suspects.remove(departure.name)
        entry.departure = departure
        entry.suspicion = nil
        self.entries[departure.name] = entry
        self.voterMayHaveChanged(departure.name)
        if old.isLive { self.setLive(departure.name, false) }
        self.publish(
            .statusChanged(member: departure.name, from: old, to: .left, incarnation: departure.incarnation))
        self.queue.enqueue(.left(departure), key: .member(departure.name), priority: .failureNews)
    }

    /// SWIM §4.2: answer a suspicion of ourselves by moving to a higher incarnation.
    /// Lifeguard counts it against our health: peers could not hear us in time.
    mutating func refute(above incarnation: UInt64) {
        guard self.ownCertificate == nil, !self.hasLeft else { return }
        self.me.incarnation = max(self.me.incarnation, incarnation) + 1
        self.votesAgainstMe = [:]
        self.queue.enqueue(.alive(self.me), key: .member(self.me.name), priority: .own)
        self.stats.refutations &+= 1
        self.publish(.refuted(incarnation: self.me.incarnation))
        self.changeHealth(by: 1)
    }
}

extension Instance {
    /// Pushes pending news to a few random live members (memberlist's gossip round).
    mutating func gossipRound() {
        self.nextGossipAt = self.now + self.configuration.gossip.interval
        let targets = self.liveOthers.randomSample(count: self.configuration.gossip.fanout, using: &self.rng)
        for name in targets {
            guard !self.queue.isEmpty, let address = self.entries[name]?.member.address else { break }
            self.send(.gossip, to: address)
        }
    }
}

extension Array {
    /// Up to `count` distinct elements chosen uniformly (rejection sampling: `count`
    /// is a handful, the array may be thousands).
    func randomSample<R: RandomNumberGenerator>(count: Int, using rng: inout R) -> [Element] {
        guard count < self.count else { return self.shuffled(using: &rng) }
        var picked: [Int] = []
        picked.reserveCapacity(count)
        while picked.count < count {
            let index = Int(rng.next() % UInt64(self.count))
            if !picked.contains(index) { picked.append(index) }
        }
        return picked.map { self[$0] }
    }
}

extension Array {
    /// Up to `count` distinct elements other than the one at `skip`, chosen uniformly.
    func randomSample<R: RandomNumberGenerator>(count: Int, skipping skip: Int?, using rng: inout R) -> [Element] {
        let available = self.count - (skip == nil ? 0 : 1)
        guard count < available else {
            return self.indices.filter { $0 != skip }.map { self[$0] }.shuffled(using: &rng)
        }
        var picked: [Int] = []
        picked.reserveCapacity(count)
        while picked.count < count {
            let index = Int(rng.next() % UInt64(self.count))
            if index != skip && !picked.contains(index) { picked.append(index) }
        }
        return picked.map { self[$0] }
    }
}
