/// What one node keeps about one member beyond the gossiped `Member` record.
struct MemberEntry: Sendable {
    var member: Member
    /// The running suspicion window for `member.incarnation`, if any.
    var suspicion: SuspicionTimer?
    /// A suspicion heard from one observer while this node, not an observer of the
    /// member, waits for a second to corroborate it (`applySuspicion`).
    var heldSuspicion: (suspicion: Suspicion, at: Instant)?
    /// Votes against `member.incarnation` seen so far, by observer name.
    var votes: [String: Vote] = [:]
    /// The proof behind `.failed`, once declared.
    var certificate: FailureCertificate?
    /// The signed departure behind `.left`, when the member left by itself.
    var departure: Departure?
    /// The signed operator removal behind `.left`, when it was forced out.
    var removal: Removal?
    /// Attempts to reach this member again while it is failed (serf's reconnect).
    var reconnect: ReconnectState?
    /// When this node last pushed its state to this member because a packet came from
    /// it while it was failed (`answerFailedSender`).
    var contactSyncAt: Instant?
    /// When this member last refuted a suspicion (newest last; at most `flapLimit`).
    var refutations: [Instant] = []

    init(member: Member) {
        self.member = member
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
