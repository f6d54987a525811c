/// A fence or recovery handed to the shell and not reported yet (leader only).
struct HAInFlight: Sendable {
    enum Kind: Sendable { case fence, recover }
    var kind: Kind
    var term: UInt64
    var life: UInt32
    var since: Instant
}

extension Instance {
    // MARK: - The leader's loop

    /// Leader only, about once a probe period: moves every certified failure along its
    /// lifecycle — fence it (unless the brake holds it), and once its fence is
    /// confirmed, recover it. A new leader resumes from the gossiped records: a fence
    /// an old leader started is run again (power-off is idempotent), a recovery again
    /// (the drivers deduplicate), and a recovery is never ordered before a confirmed
    /// fence of that node's life.
    mutating func runHA() {
        let ha = self.configuration.ha
        guard ha.enabled, self.started, !self.hasLeft else { return }
        self.expireStaleActions()
        guard self.now >= self.nextHACheckAt else { return }
        self.nextHACheckAt = self.now + self.configuration.probe.period
        let view = self.electionView()
        guard self.election.isLeader(at: self.now, view: view) else { return }
        let term = self.election.term
        self.fenceStarts.removeAll { self.now - $0 > ha.fenceWindow }
        let brake = self.brakeEngaged()
        let failed = self.entries.values.filter { $0.member.status == .failed && $0.certificate != nil }
            .map(\.member).sorted { $0.name < $1.name }
        let heardFromMajority = self.election.majorityAcknowledged(view: view) ?? .zero
        for member in failed {
            let life = Incarnation.life(of: member.incarnation)
            // A majority must have answered this leader since it learned of the
            // failure: a lease still running from before a partition is not enough to
            // fence from its minority side (seed 949 of the HA properties).
            let mayFence = heardFromMajority > (self.certifiedAt[member.name] ?? .zero)
            // Fenced in an earlier life and not returned to service: it came back and
            // went down again while out of service. It runs nothing; leave it be.
            if let record = self.haRecords[member.name], record.life < life, record.phase.isFenced { continue }
            let record = self.haRecords[member.name].flatMap { $0.life == life ? $0 : nil }
            if let flight = self.haInFlight[member.name], flight.life == life, flight.term == term {
                // Wait for the shell's answer, unless an operator confirmed the node
                // off meanwhile: then the fence in flight no longer matters.
                guard flight.kind == .fence, record?.phase.isFenced == true else { continue }
                self.haInFlight[member.name] = nil
            }
            let retryDue = self.now >= (self.haRetryAt[member.name] ?? .zero)
            let attempts = Int(record?.attempts ?? 0)
            switch record?.phase {
            case nil:
                if brake {
                    self.recordHA(
                        member.name, life: life, phase: .awaitingApproval, attempts: 0,
                        detail: "brake: \(self.brakeReason() ?? "engaged"); approve with `vigil fence approve`")
                    continue
                }
                if mayFence { self.startFence(member, life: life, attempts: 1) }
            case .awaitingApproval:
                // A hold sticks for this life, even once the brake eases (the others
                // fenced, one failure alone): only an operator's approval lets it go,
                // so failures that come in a row do not slip through one at a time.
                continue
            case .approved:
                if mayFence { self.startFence(member, life: life, attempts: 1) }
            case .fencing:
                // Ours was lost (restart of the shell) or an old leader's: run it again.
                if mayFence { self.startFence(member, life: life, attempts: attempts + 1) }
            case .fenceFailed:
                if retryDue && mayFence { self.startFence(member, life: life, attempts: attempts + 1) }
            case .fenced:
                self.startRecovery(member, life: life, attempts: 1)
            case .recovering:
                self.startRecovery(member, life: life, attempts: attempts + 1)
            case .recoveryFailed:
                if retryDue { self.startRecovery(member, life: life, attempts: attempts + 1) }
            case .recovered, .unfenced:
                break
            }
        }
    }

    mutating func startFence(_ member: Member, life: UInt32, attempts: Int) {
        let term = self.election.term
        self.recordHA(
            member.name, life: life, phase: .fencing, attempts: attempts,
            detail: "term \(term), attempt \(attempts)")
        self.haInFlight[member.name] = HAInFlight(kind: .fence, term: term, life: life, since: self.now)
        self.fenceStarts.append(self.now)
        self.output.append(.fence(FenceOrder(node: member.name, life: life, term: term, address: member.address)))
    }

    mutating func startRecovery(_ member: Member, life: UInt32, attempts: Int) {
        // The one rule that matters most: only after a confirmed fence of this life.
        guard let record = self.haRecords[member.name], record.life == life, record.phase.isFenced else { return }
        let term = self.election.term
        self.recordHA(
            member.name, life: life, phase: .recovering, attempts: attempts,
            detail: "term \(term), attempt \(attempts)")
        self.haInFlight[member.name] = HAInFlight(kind: .recover, term: term, life: life, since: self.now)
        self.output.append(.recover(RecoveryOrder(node: member.name, life: life, term: term)))
    }

    /// Actions the shell never reported count as failed, so they are retried.
    mutating func expireStaleActions() {
        let timeout = self.configuration.ha.actionTimeout
        for (name, flight) in self.haInFlight.sorted(by: { $0.key < $1.key }) where self.now - flight.since > timeout {
            self.haInFlight[name] = nil
            switch flight.kind {
            case .fence:
                self.fenceFailed(name, life: flight.life, term: flight.term, detail: "no answer from the fence driver")
            case .recover:
                self.recoveryFailed(
                    name, life: flight.life, term: flight.term, detail: "no answer from the recovery driver")
            }
        }
    }

    // MARK: - Reports from the shell

    /// The shell ran `order`'s fence levels: `confirmed` only when power-off was
    /// verified. Recovery follows at once while this node still leads.
    public mutating func fenceCompleted(
        _ order: FenceOrder, confirmed: Bool, detail: String, now: Instant
    ) -> [Directive] {
        self.begin(now)
        self.clearInFlight(order.node, life: order.life, term: order.term)
        if confirmed {
            self.haRetryAt[order.node] = nil
            if self.mayRecord(order.node, life: order.life, term: order.term) {
                self.recordHA(order.node, life: order.life, phase: .fenced, attempts: 0, detail: detail, term: order.term)
            }
        } else {
            self.fenceFailed(order.node, life: order.life, term: order.term, detail: detail)
        }
        self.nextHACheckAt = self.now
        self.runHA()
        return self.finish()
    }

    /// The shell ran `order`'s recovery driver.
    public mutating func recoveryCompleted(
        _ order: RecoveryOrder, succeeded: Bool, detail: String, now: Instant
    ) -> [Directive] {
        self.begin(now)
        self.clearInFlight(order.node, life: order.life, term: order.term)
        if succeeded {
            self.haRetryAt[order.node] = nil
            if self.mayRecord(order.node, life: order.life, term: order.term) {
                self.recordHA(
                    order.node, life: order.life, phase: .recovered, attempts: 0, detail: detail, term: order.term)
            }
        } else {
            self.recoveryFailed(order.node, life: order.life, term: order.term, detail: detail)
        }
        return self.finish()
    }

    /// The shell answered the order of `term` for `name`'s life `life`.
    mutating func clearInFlight(_ name: String, life: UInt32, term: UInt64) {
        if let flight = self.haInFlight[name], flight.term == term, flight.life == life {
            self.haInFlight[name] = nil
        }
    }

    mutating func fenceFailed(_ name: String, life: UInt32, term: UInt64, detail: String) {
        self.recordFailure(name, life: life, term: term, phase: .fenceFailed, detail: detail)
    }

    mutating func recoveryFailed(_ name: String, life: UInt32, term: UInt64, detail: String) {
        self.recordFailure(name, life: life, term: term, phase: .recoveryFailed, detail: detail)
    }

    /// Records a failed fence or recovery and when it may be retried (backoff on the
    /// attempts of the phase it failed in).
    mutating func recordFailure(_ name: String, life: UInt32, term: UInt64, phase: HAPhase, detail: String) {
        guard self.mayRecord(name, life: life, term: term) else { return }
        let attempts = Int(self.haRecords[name]?.attempts ?? 1)
        self.recordHA(name, life: life, phase: phase, attempts: attempts, detail: detail, term: term)
        self.haRetryAt[name] = self.now + self.retryDelay(attempts: attempts)
    }

    func retryDelay(attempts: Int) -> Duration {
        let ha = self.configuration.ha
        return min(ha.retryMax, ha.retryMin.scaled(by: Double(1 << min(max(attempts - 1, 0), 16))))
    }

    /// A result of `term` is recorded unless a newer leader already moved this node on.
    func mayRecord(_ name: String, life: UInt32, term: UInt64) -> Bool {
        guard let current = self.haRecords[name] else { return true }
        return current.life < life || (current.life == life && current.term <= term)
    }

    // MARK: - The brake

    /// More than `maxFailedShare` of the voters failed or suspect (two at least: one
    /// failure is what HA is for), or `maxFencesPerWindow` fences started in the window.
    func brakeEngaged() -> Bool {
        self.brakeReason() != nil
    }

    func brakeReason() -> String? {
        let ha = self.configuration.ha
        if self.fenceStarts.count >= ha.maxFencesPerWindow {
            return "\(self.fenceStarts.count) fences started within \(ha.fenceWindow)"
        }
        let voters = self.voterSet
        guard !voters.isEmpty else { return nil }
        let bad = voters.filter { name in
            guard let status = self.member(named: name)?.status, status == .failed || status == .suspect else {
                return false
            }
            return self.haRecords[name].map { !$0.phase.isFenced } ?? true
        }.count
        if bad >= 2 && Double(bad) > ha.maxFailedShare * Double(voters.count) {
            return "\(bad) of \(voters.count) members failed or suspect"
        }
        return nil
    }

    // MARK: - Records

    /// Records a step of `name`'s lifecycle under this node's signature and gossips it,
    /// unless what this node already holds takes precedence (a later stage of that
    /// life: a late failure report after a confirmed fence, a recovery after an unfence).
    @discardableResult
    mutating func recordHA(
        _ name: String, life: UInt32, phase: HAPhase, attempts: Int, detail: String, term: UInt64? = nil
    ) -> Bool {
        let term = term ?? self.election.term
        let previous = self.haRecords[name]
        if let previous, (previous.life, previous.phase.stage) > (life, phase.stage) { return false }
        let sequence = (previous?.life == life && previous?.term == term) ? (previous!.sequence &+ 1) : 1
        let attempts = UInt16(clamping: attempts)
        let detail = String(decoding: Array(detail.utf8.prefix(200)), as: UTF8.self)
        let bytes = HARecord.signedBytes(
            node: name, life: life, term: term, sequence: sequence, phase: phase, leader: self.me.name,
            attempts: attempts, detail: detail)
        let record = HARecord(
            node: name, life: life, term: term, sequence: sequence, phase: phase, leader: self.me.name,
            attempts: attempts, detail: detail, signature: self.identity.sign(bytes))
        self.store(record)
        return true
    }

    /// A record from the leader, gossiped or synced: kept if it is newer and its
    /// leader's signature verifies against the key this node knows for it.
    mutating func applyHA(_ record: HARecord) {
        if let current = self.haRecords[record.node], record.precedence <= current.precedence { return }
        guard let leader = self.member(named: record.leader) else {
            self.publish(.dropped(reason: .unknownSigner))
            return
        }
        guard leader.identityKey.isValidSignature(record.signature, for: record.signedBytes) else {
            self.publish(.dropped(reason: .badSignature))
            return
        }
        self.store(record)
    }

    mutating func store(_ record: HARecord) {
        let wasFenced = self.haRecords[record.node]?.phase.isFenced ?? false
        self.haRecords[record.node] = record
        if wasFenced != record.phase.isFenced { self.voterMayHaveChanged(record.node) }
        // Journaled before anything can carry it on: gossip taken from the queue below
        // leaves in a later directive of this same output, or in a later output.
        self.output.append(.persist(.ha(record)))
        self.publish(.haChanged(record))
        self.queue.enqueue(.ha(record), key: .ha(node: record.node, phase: record.phase), priority: .failureNews)
    }

    /// Whether `name` is out of service: fenced (in this life or an earlier one) and
    /// not returned to service by `vigil fence unfence`. Such a node is out of the
    /// quorum denominator, may not stand for leader, and gets no HA action.
    func isFenced(_ name: String) -> Bool {
        self.haRecords[name]?.phase.isFenced ?? false
    }

    /// The HA records this node holds, by node name (`vigil fence status`).
    public var haStatus: [HARecord] {
        self.haRecords.values.sorted { $0.node < $1.node }
    }
}
