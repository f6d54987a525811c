/// What one node keeps about one member beyond the gossiped `Member` record.
///
/// Every node holds one entry per member, so a simulated cluster of N nodes holds N²
/// of them: the record stays small (the `Member` plus one word). What only a member
/// under suspicion, failed, gone or flapping needs lives in `Rare`, boxed in a
/// one-element array (copy-on-write, no allocation while empty) and dropped again
/// once every part of it is back to its default.
struct MemberEntry: Sendable {
    var member: Member
    /// Empty, or one `Rare` with at least one field set.
    private var rare: [Rare] = []

    private struct Rare: Sendable {
        var suspicion: SuspicionTimer?
        var heldSuspicion: (suspicion: Suspicion, at: Instant)?
        var votes: [String: Vote] = [:]
        var certificate: FailureCertificate?
        var departure: Departure?
        var removal: Removal?
        var reconnect: ReconnectState?
        var contactSyncAt: Instant?
        var refutations: [Instant] = []

        var isEmpty: Bool {
            self.suspicion == nil && self.heldSuspicion == nil && self.votes.isEmpty && self.certificate == nil
                && self.departure == nil && self.removal == nil && self.reconnect == nil
                && self.contactSyncAt == nil && self.refutations.isEmpty
        }
    }

    init(member: Member) {
        self.member = member
    }

    /// Changes the boxed part in place; `isDefault` says whether the new value is the
    /// field's default (then nothing is boxed for it, and an empty box is dropped).
    private mutating func update(isDefault: Bool, _ change: (inout Rare) -> Void) {
        if self.rare.isEmpty {
            if isDefault { return }
            self.rare.append(Rare())
        }
        change(&self.rare[0])
        if isDefault && self.rare[0].isEmpty { self.rare = [] }
    }

    /// The running suspicion window for `member.incarnation`, if any.
    var suspicion: SuspicionTimer? {
        get { self.rare.first?.suspicion }
        set { self.update(isDefault: newValue == nil) { $0.suspicion = newValue } }
    }
    /// A suspicion heard from one observer while this node, not an observer of the
    /// member, waits for a second to corroborate it (`applySuspicion`).
    var heldSuspicion: (suspicion: Suspicion, at: Instant)? {
        get { self.rare.first?.heldSuspicion }
        set { self.update(isDefault: newValue == nil) { $0.heldSuspicion = newValue } }
    }
    /// Votes against `member.incarnation` seen so far, by observer name.
    var votes: [String: Vote] {
        get { self.rare.first?.votes ?? [:] }
        set { self.update(isDefault: newValue.isEmpty) { $0.votes = newValue } }
    }
    /// The proof behind `.failed`, once declared.
    var certificate: FailureCertificate? {
        get { self.rare.first?.certificate }
        set { self.update(isDefault: newValue == nil) { $0.certificate = newValue } }
    }
    /// The signed departure behind `.left`, when the member left by itself.
    var departure: Departure? {
        get { self.rare.first?.departure }
        set { self.update(isDefault: newValue == nil) { $0.departure = newValue } }
    }
    /// The signed operator removal behind `.left`, when it was forced out.
    var removal: Removal? {
        get { self.rare.first?.removal }
        set { self.update(isDefault: newValue == nil) { $0.removal = newValue } }
    }
    /// Attempts to reach this member again while it is failed (serf's reconnect).
    var reconnect: ReconnectState? {
        get { self.rare.first?.reconnect }
        set { self.update(isDefault: newValue == nil) { $0.reconnect = newValue } }
    }
    /// When this node last pushed its state to this member because a packet came from
    /// it while it was failed (`answerFailedSender`).
    var contactSyncAt: Instant? {
        get { self.rare.first?.contactSyncAt }
        set { self.update(isDefault: newValue == nil) { $0.contactSyncAt = newValue } }
    }
    /// When this member last refuted a suspicion (newest last; at most `flapLimit`).
    var refutations: [Instant] {
        get { self.rare.first?.refutations ?? [] }
        set { self.update(isDefault: newValue.isEmpty) { $0.refutations = newValue } }
    }
}

/// Retrying a failed member with backoff: if it is in fact running (a healed
/// partition, or a restart we missed), one push-pull merges the two views again.
struct ReconnectState: Sendable {
    /// When this node first tried (about when it saw the member fail).
    var since: Instant
    var attempts = 0
    var next: Instant
}

/// What an observer keeps about one of its subjects.
struct SubjectWatch: Sendable {
    var detector: PhiAccrualDetector
    /// Whether the most recent completed probe round (direct and indirect) failed.
    var lastRoundFailed = false
    /// Whether this observer suspects the subject from its own probes.
    var suspects = false
    /// When a probe round of the subject (direct and indirect) last failed; kept
    /// through refutations, unlike `lastRoundFailed`, for the flap rule.
    var lastFailedRoundAt: Instant?
    /// The incarnation this observer has voted against, if any.
    var votedIncarnation: UInt64?
    /// Share of this observer's recent probe rounds of the subject that failed (an
    /// exponentially weighted mean, each round weighing `1/16`), and how many rounds
    /// went into it: the chronic-failure rule (`Instance.failsChronically`).
    var roundFailureRate = 0.0
    var rounds = 0

    mutating func recordRound(failed: Bool) {
        self.roundFailureRate += ((failed ? 1 : 0) - self.roundFailureRate) / 16
        self.rounds &+= 1
    }
}

/// One outstanding probe of ours.
struct PendingProbe: Sendable {
    var target: String
    var address: Address
    var sentAt: Instant
    /// When to give up on a direct ack and ask relays.
    var directDeadline: Instant
    /// When the whole round fails.
    var finalDeadline: Instant
    var relaysAsked = 0
    var nacks = 0
    var indirectSent = false
}

/// A ping we relay for another member (ping-req).
struct RelayedProbe: Sendable {
    var requester: Address
    var requesterSeq: UInt32
    var nackAt: Instant
    var expiresAt: Instant
    var nackSent = false
}
