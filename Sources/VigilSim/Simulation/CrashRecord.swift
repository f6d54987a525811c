import VigilCore

/// The detection history of one crash.
public struct CrashRecord: Sendable, Equatable {
    public var node: Int
    public var crashedAt: Instant
    /// First time after the crash that any live member marked the node suspect or failed.
    public var firstSuspectAt: Instant?
    /// First time after the crash that every live member's latest status for the node
    /// was `failed`.
    public var failedEverywhereAt: Instant?
    /// When the node came back (ends the record; a record not detected by then counts
    /// as undetected).
    public var restartedAt: Instant?

    public var failedEverywhereAfter: Duration? {
        self.failedEverywhereAt.map { $0 - self.crashedAt }
    }

    public var firstSuspectAfter: Duration? {
        self.firstSuspectAt.map { $0 - self.crashedAt }
    }
}
