extension Instance {
    /// Merges one piece of gossip into this node's view (merge order: `Liveness`).
    mutating func apply(_ update: Update) {
        switch update {
        case .alive(let member):
            self.applyAlive(member)
        case .suspect(let suspicion):
            self.applySuspicion(suspicion)
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
        if wasRefutation {
            entry.refutations.append(self.now)
            if entry.refutations.count > self.configuration.quorum.flapLimit {
                entry.refutations.removeFirst(entry.refutations.count - self.configuration.quorum.flapLimit)
            }
        }
        entry.member.incarnation = incoming.incarnation
        entry.member.address = incoming.address
        entry.member.tags = incoming.tags
        entry.member.status = .alive
        self.suspects.remove(incoming.name)
        entry.suspicion = nil
        entry.votes = [:]
        entry.certificate = nil
        entry.departure = nil
        entry.removal = nil
        entry.reconnect = nil
        self.entries[incoming.name] = entry
        if var watch = self.watches[incoming.name] {
            watch.suspects = false
            watch.lastRoundFailed = false
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
        if suspicion.incarnation > entry.member.incarnation {
            entry.member.incarnation = suspicion.incarnation
            entry.suspicion = nil
            entry.votes = [:]
        }
        let observers = self.observers(of: suspicion.subject)
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
            self.queue.enqueue(
                .suspect(suspicion), key: .suspicion(subject: suspicion.subject, observer: suspicion.observer),
                priority: .failureNews)
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
