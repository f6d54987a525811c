extension Instance {
    // MARK: Answering

    mutating func handlePing(seq: UInt32, target: String, from address: Address) {
        guard target == self.me.name else {
            self.publish(.dropped(reason: .wrongTarget))
            return
        }
        self.send(.ack(seq: seq), to: address)
    }

    mutating func handlePingReq(seq: UInt32, target: String, targetAddress: Address, from requester: Address) {
        guard target != self.me.name else {
            // Asked to probe ourselves: we are evidently alive; answer directly.
            self.send(.ack(seq: seq), to: requester)
            return
        }
        let relaySeq = self.takeSequence()
        let timeout = self.configuration.probe.timeout
        self.relays[relaySeq] = RelayedProbe(
            requester: requester, requesterSeq: seq,
            nackAt: self.now + timeout.scaled(by: self.configuration.probe.nackRatio),
            expiresAt: self.now + timeout.scaled(by: 2))
        self.send(.ping(seq: relaySeq, target: target), to: targetAddress)
    }

    mutating func handleAck(seq: UInt32) {
        if let relay = self.relays.removeValue(forKey: seq) {
            // Forward, even after a nack: a late ack still proves the target alive.
            self.send(.ack(seq: relay.requesterSeq), to: relay.requester)
            return
        }
        guard let probe = self.pending.removeValue(forKey: seq) else {
            self.publish(.dropped(reason: .staleSequence))
            return
        }
        self.stats.acksReceived &+= 1
        self.recordRoundTrip(self.now - probe.sentAt)
        self.heardFromNetwork()
        self.changeHealth(by: -1)
        // In place: a copy taken out of the dictionary would share the detector's
        // window with it, and the heartbeat would copy the whole window.
        if let index = self.watches.index(forKey: probe.target) {
            self.watches.values[index].detector.heartbeat(at: self.now)
            self.watches.values[index].lastRoundFailed = false
            self.watches.values[index].suspects = false
            self.watches.values[index].recordRound(failed: false)
        }
    }

    mutating func handleNack(seq: UInt32) {
        guard self.pending[seq] != nil else { return }
        self.pending[seq]!.nacks += 1
        self.stats.nacksReceived &+= 1
        self.heardFromNetwork()
    }

    mutating func heardFromNetwork() {
        self.lastAckAt = self.now
        if self.isolated {
            self.isolated = false
            self.publish(.isolated(false))
        }
    }

    // MARK: Probing

    /// Probes subjects one at a time, spread evenly over the period, plus a random
    /// member every `randomProbeEvery` periods.
    mutating func runProbeSlots() {
        let period = self.configuration.probe.period
        if self.nextProbeAt < self.now - period {
            self.nextProbeAt = self.now  // after a long stall, do not fire a burst
        }
        while self.nextProbeAt <= self.now {
            let slots = max(1, self.subjects.count)
            let slot = period.scaled(by: 1 / Double(slots))
            if !self.subjects.isEmpty && self.ownCertificate == nil {
                let target = self.subjects[self.probeCursor % self.subjects.count]
                self.probe(target)
            }
            self.probeCursor &+= 1
            if self.probeCursor % slots == 0 {
                self.repairStaleSuspicions()
                self.periodsSinceRandomProbe += 1
                let every = self.configuration.probe.randomProbeEvery
                if (every > 0 && self.periodsSinceRandomProbe >= every) || self.subjects.isEmpty {
                    self.periodsSinceRandomProbe = 0
                    if let target = self.nextRandomTarget() { self.probe(target) }
                }
            }
            self.nextProbeAt = self.nextProbeAt + slot
        }
    }

    /// The next live member of a shuffled round of all others that this node does not
    /// already watch (its subjects get their probe every period; a random probe of
    /// one would only add an early heartbeat to its phi detector, irregular intervals
    /// that widen the deviation and slow detection). `nil` when every other member is
    /// a subject, as in a cluster of K + 1 nodes or fewer.
    mutating func nextRandomTarget() -> String? {
        for _ in 0..<2 {
            if self.randomCursor >= self.randomOrder.count {
                self.randomOrder = self.liveOthers.shuffled(using: &self.rng)
                self.randomCursor = 0
            }
            while self.randomCursor < self.randomOrder.count {
                let name = self.randomOrder[self.randomCursor]
                self.randomCursor += 1
                if self.entries[name]?.member.status.isLive == true && self.watches[name] == nil { return name }
            }
        }
        return nil
    }

    mutating func probe(_ target: String) {
        guard let entry = self.entries[target], entry.member.status.isLive else { return }
        let seq = self.takeSequence()
        self.stats.probesSent &+= 1
        let timeout = self.health.scale(self.configuration.probe.timeout)
        self.pending[seq] = PendingProbe(
            target: target, address: entry.member.address, sentAt: self.now,
            directDeadline: self.now + timeout,
            finalDeadline: self.now + timeout.scaled(by: 3))
        // Buddy system (Lifeguard §IV.C): a suspect hears of it first, from its prober.
        var leading: [Update] = []
        if entry.member.status == .suspect {
            leading.append(
                .suspect(Suspicion(subject: target, incarnation: entry.member.incarnation, observer: self.me.name)))
        }
        self.send(.ping(seq: seq, target: target), to: entry.member.address, leading: leading)
    }

    /// Moves late probes to the indirect phase, and failed ones to the verdict.
    mutating func advancePendingProbes() {
        for seq in self.pending.keys.sorted() {
            guard let probe = self.pending[seq] else { continue }
            if probe.finalDeadline <= self.now {
                self.pending[seq] = nil
                self.probeFailed(probe)
            } else if !probe.indirectSent && probe.directDeadline <= self.now {
                self.pending[seq]!.indirectSent = true
                let relays = self.liveOthers.filter { $0 != probe.target }
                    .shuffled(using: &self.rng)
                    .prefix(self.configuration.probe.indirectProbes)
                self.pending[seq]!.relaysAsked = relays.count
                for relay in relays {
                    guard let address = self.entries[relay]?.member.address else { continue }
                    self.stats.indirectProbes &+= 1
                    self.send(.pingReq(seq: seq, target: probe.target, address: probe.address), to: address)
                }
            }
        }
    }

    /// Lifeguard §IV.A: a failed probe whose relays did not even nack points at our
    /// own network, so it costs health; relays that nacked clear us.
    mutating func probeFailed(_ probe: PendingProbe) {
        self.stats.probesFailed &+= 1
        if probe.relaysAsked > 0 {
            let missing = probe.relaysAsked - probe.nacks
            if missing > 0 { self.changeHealth(by: missing) }
        } else {
            self.changeHealth(by: 1)
        }
        if self.watches[probe.target] != nil {
            self.watches[probe.target]!.lastRoundFailed = true
            self.watches[probe.target]!.lastFailedRoundAt = self.now
            self.watches[probe.target]!.recordRound(failed: true)
        }
    }

    mutating func expireRelays() {
        for seq in self.relays.keys.sorted() {
            guard let relay = self.relays[seq] else { continue }
            if relay.expiresAt <= self.now {
                self.relays[seq] = nil
            } else if !relay.nackSent && relay.nackAt <= self.now {
                self.relays[seq]!.nackSent = true
                self.send(.nack(seq: relay.requesterSeq), to: relay.requester)
            }
        }
    }

    // MARK: Own health

    /// A tick that comes much later than asked means this process was paused or
    /// starved. The silence was ours, not our subjects': shift their detectors and
    /// our deadlines by the lateness, and count it against our own health.
    mutating func compensateForOwnPause() {
        guard self.requestedWake != .distantFuture else { return }
        let allowance = max(self.configuration.probe.period, .milliseconds(100))
        let lateness = self.now - self.requestedWake
        guard lateness > allowance else { return }
        for name in self.watches.keys {
            self.watches[name]!.detector.shift(by: lateness)
        }
        for seq in self.pending.keys {
            self.pending[seq]!.directDeadline = self.pending[seq]!.directDeadline + lateness
            self.pending[seq]!.finalDeadline = self.pending[seq]!.finalDeadline + lateness
        }
        for seq in self.relays.keys {
            self.relays[seq]!.nackAt = self.relays[seq]!.nackAt + lateness
            self.relays[seq]!.expiresAt = self.relays[seq]!.expiresAt + lateness
        }
        self.lastAckAt = self.lastAckAt + lateness
        self.changeHealth(by: 1)
    }

    /// A node that hears no ack or nack from anyone for several periods while it
    /// has peers suspects itself rather than the world: it stops voting.
    mutating func checkIsolation() {
        guard !self.isolated, !self.liveOthers.isEmpty else { return }
        let limit = max(self.configuration.probe.period.scaled(by: 4), self.configuration.probe.timeout.scaled(by: 6))
        if self.now - self.lastAckAt > limit {
            self.isolated = true
            self.publish(.isolated(true))
            self.changeHealth(by: self.configuration.lifeguard.maxHealthScore)
        }
    }
}
