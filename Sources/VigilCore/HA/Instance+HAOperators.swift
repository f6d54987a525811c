/// What an operator asks of the HA lifecycle (`vigil fence ...`). Any member takes it:
/// the step is recorded under that member's signature and gossiped like the leader's
/// own, so the leader acts on it wherever the operator typed it, and a new leader
/// still knows it.
public enum FenceCommand: Sendable, Equatable {
    /// Let the brake-held fences of these nodes go ahead.
    case approve([String])
    /// Let every fence the brake holds right now go ahead.
    case approveAll
    /// The operator vouches that the failed node is off (like `stonith_admin
    /// --confirm`); recovery follows without a fence.
    case confirm(String)
    /// Return a fenced node to service: it counts in the quorum again, may lead, and
    /// is fenced again should it fail again.
    case unfence(String)
}

/// What became of a `FenceCommand` for one node.
public struct FenceCommandOutcome: Sendable, Equatable {
    public var node: String
    /// Whether a record was made (and gossiped).
    public var done: Bool
    /// What was recorded, or why nothing was, in one line.
    public var message: String

    public init(node: String, done: Bool, message: String) {
        self.node = node
        self.done = done
        self.message = message
    }
}

/// The HA state as one member sees it (`vigil fence status`).
public struct FenceStatus: Sendable, Equatable {
    /// Whether this node's configuration lets a leader fence at all.
    public var enabled: Bool
    /// Why automatic fencing is paused, or `nil` when it is not (this node's view).
    public var brake: String?
    /// The newest record of every node that ever failed, by name.
    public var records: [HARecord]
    /// The nodes that are fenced and not yet returned to service.
    public var outOfService: [String]
}

extension Instance {
    /// Carries out an operator's `command` on this member; see ``FenceCommand``.
    public mutating func command(
        _ command: FenceCommand, now: Instant
    ) -> (outcomes: [FenceCommandOutcome], directives: [Directive]) {
        self.begin(now)
        var outcomes: [FenceCommandOutcome] = []
        switch command {
        case .approve(let names):
            outcomes = names.map { self.approve($0) }
        case .approveAll:
            let held = self.haRecords.values.filter { $0.phase == .awaitingApproval }.map(\.node).sorted()
            outcomes = held.map { self.approve($0) }
        case .confirm(let name):
            outcomes = [self.confirm(name)]
        case .unfence(let name):
            outcomes = [self.unfence(name)]
        }
        self.nextHACheckAt = self.now
        self.runHA()
        return (outcomes, self.finish())
    }

    /// The term an operator's step on `record` is recorded under: the record's own,
    /// so that the step follows it as its next sequence number and the leader's next
    /// step (of that term or a later one) follows the operator's.
    func operatorTerm(after record: HARecord?) -> UInt64 {
        record?.term ?? self.election.term
    }

    mutating func approve(_ name: String) -> FenceCommandOutcome {
        guard let member = self.member(named: name) else {
            return FenceCommandOutcome(node: name, done: false, message: "no member named \(name)")
        }
        let life = Incarnation.life(of: member.incarnation)
        guard let record = self.haRecords[name], record.life == life, record.phase == .awaitingApproval else {
            let phase = self.haRecords[name].map { "\($0.phase) (life \($0.life))" } ?? "no HA action"
            return FenceCommandOutcome(
                node: name, done: false, message: "\(name) is not held by the brake here (\(member.status), \(phase))")
        }
        self.recordHA(
            name, life: life, phase: .approved, attempts: 0,
            detail: "fence approved by an operator on \(self.me.name)", term: self.operatorTerm(after: record))
        return FenceCommandOutcome(node: name, done: true, message: "fence of \(name) approved; the leader fences it next")
    }

    mutating func confirm(_ name: String) -> FenceCommandOutcome {
        guard name != self.me.name else {
            return FenceCommandOutcome(
                node: name, done: false, message: "\(name) is this node: it is running, so it is not off")
        }
        guard let member = self.member(named: name) else {
            return FenceCommandOutcome(node: name, done: false, message: "no member named \(name)")
        }
        guard member.status == .failed else {
            return FenceCommandOutcome(
                node: name, done: false,
                message: "\(name) is \(member.status) here, not failed: only a failed node can be confirmed off")
        }
        let life = Incarnation.life(of: member.incarnation)
        let record = self.haRecords[name]
        if let record, record.phase.isFenced {
            return FenceCommandOutcome(
                node: name, done: false, message: "\(name) is already fenced (\(record.phase), life \(record.life))")
        }
        let current = record.flatMap { $0.life == life ? $0 : nil }
        self.haInFlight[name] = nil
        self.recordHA(
            name, life: life, phase: .fenced, attempts: 0,
            detail: "confirmed off by an operator on \(self.me.name)", term: self.operatorTerm(after: current))
        return FenceCommandOutcome(
            node: name, done: true, message: "\(name) confirmed off; the leader starts its recovery next")
    }

    mutating func unfence(_ name: String) -> FenceCommandOutcome {
        guard let record = self.haRecords[name], record.phase.isFenced else {
            let phase = self.haRecords[name].map { "\($0.phase)" } ?? "never fenced"
            return FenceCommandOutcome(node: name, done: false, message: "\(name) is not fenced (\(phase))")
        }
        guard record.phase != .recovering else {
            return FenceCommandOutcome(
                node: name, done: false,
                message: "\(name)'s recovery is running: unfence once it is recovered or recovery-failed")
        }
        self.recordHA(
            name, life: record.life, phase: .unfenced, attempts: 0,
            detail: "returned to service by an operator on \(self.me.name)", term: self.operatorTerm(after: record))
        return FenceCommandOutcome(
            node: name, done: true, message: "\(name) is back in service: it votes, may lead, and is fenced if it fails")
    }

    /// The HA state as this member sees it (`vigil fence status`).
    public var fenceStatus: FenceStatus {
        let records = self.haStatus
        return FenceStatus(
            enabled: self.configuration.ha.enabled, brake: self.brakeReason(), records: records,
            outOfService: records.filter { $0.phase.isFenced }.map(\.node))
    }
}
