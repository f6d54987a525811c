extension Instance {
    /// serf's reconnect: once per `reconnectInterval` (jittered), opens a digest
    /// push-pull with one failed member whose backoff has run out. A member that is
    /// really down costs one refused connection; one that is running answers with
    /// its state, and the two views merge again: a restarted member shows up with its
    /// new life, and a member of the same life learns that it was certified failed
    /// (`declaredFailed`), which it tells its operator. Retries of one member back off
    /// exponentially (interval, 2x, 4x, ... up to `reconnectMaxBackoff`) and stop
    /// `reconnectTimeout` after the first, or at once when an operator force-leaves it.
    mutating func reconnectIfDue() {
        guard self.now >= self.nextReconnectAt else { return }
        let gossip = self.configuration.gossip
        self.nextReconnectAt = self.now + gossip.reconnectInterval.scaled(by: 0.75 + 0.5 * self.rng.nextUnit())
        var due: [String] = []
        for (name, entry) in self.entries where entry.member.status == .failed {
            guard let state = entry.reconnect else {
                // First seen failed: start its clock; its first retry is one interval on.
                self.entries[name]?.reconnect = ReconnectState(
                    since: self.now, next: self.now + gossip.reconnectInterval)
                continue
            }
            if self.now >= state.next && self.now - state.since <= gossip.reconnectTimeout {
                due.append(name)
            }
        }
        guard !due.isEmpty else { return }
        due.sort()  // dictionary order is not seeded; the choice below must be
        let name = due[Int(self.rng.next() % UInt64(due.count))]
        guard var entry = self.entries[name], var state = entry.reconnect else { return }
        state.attempts += 1
        let backoff = gossip.reconnectInterval.scaled(by: Double(1 << min(state.attempts, 20)))
        state.next = self.now + min(backoff, gossip.reconnectMaxBackoff)
        entry.reconnect = state
        self.entries[name] = entry
        let sync = Sync(digest: self.stateDigest, replyWanted: true, state: nil)
        self.output.append(.stream(Packet(sender: self.me.name, message: .sync(sync)), to: entry.member.address))
    }

    /// A member this node holds failed (same name, no newer record yet) is talking to
    /// it: a healed partition, or a paused node that woke. Rather than leave it to
    /// reconnect's backoff (30 s, then 60 s, ... after the failure) or a random sync,
    /// push this node's whole state to it at once, so that a member of the certified
    /// life learns within a round trip that it was declared failed (`declaredFailed`,
    /// which its operator sees) and a new life answers with its own record. At most
    /// once per `contactSyncPeriods` probe periods per member: a cut-off node keeps
    /// probing, and every packet would otherwise cost a full-state stream.
    mutating func answerFailedSender(_ name: String) {
        // Runs for every packet: look at the status in place before copying the entry.
        guard let index = self.entries.index(forKey: name), self.entries.values[index].member.status == .failed,
            var entry = self.entries[name]
        else { return }
        let spacing = self.configuration.probe.period.scaled(by: Double(Self.contactSyncPeriods))
        if let last = entry.contactSyncAt, self.now - last < spacing { return }
        entry.contactSyncAt = self.now
        self.entries[name] = entry
        let sync = Sync(digest: self.stateDigest, replyWanted: true, state: self.fullState)
        self.output.append(.stream(Packet(sender: self.me.name, message: .sync(sync)), to: entry.member.address))
    }

    /// Probe periods between two pushes to one failed member that keeps talking (5 s
    /// with `lan`'s 500 ms period).
    static let contactSyncPeriods = 10
}
