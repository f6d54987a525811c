/// What the cluster believes about a member.
///
/// The merge order of gossip is written once, here, as `Comparable` on `Liveness`:
/// a higher incarnation wins; within one incarnation `left > failed > suspect > alive`.
/// So a suspicion of incarnation *i* is cancelled only by `alive` at *i+1* or more
/// (refutation, SWIM §4.2), and `failed`/`left` at *i* are final for *i*.
public enum MemberStatus: UInt8, Comparable, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case alive = 0
    case suspect = 1
    case failed = 2
    case left = 3

    public static func < (lhs: MemberStatus, rhs: MemberStatus) -> Bool {
        lhs.rawValue < rhs.rawValue
    }

    /// Whether the member still takes part in the protocol (probed, observes, counts).
    public var isLive: Bool {
        self == .alive || self == .suspect
    }

    public var description: String {
        switch self {
        case .alive: "alive"
        case .suspect: "suspect"
        case .failed: "failed"
        case .left: "left"
        }
    }
}

/// An (incarnation, status) pair; its order is gossip's merge rule.
public struct Liveness: Comparable, Hashable, Sendable {
    public var incarnation: UInt64
    public var status: MemberStatus

    public init(incarnation: UInt64, status: MemberStatus) {
        self.incarnation = incarnation
        self.status = status
    }

    public static func < (lhs: Liveness, rhs: Liveness) -> Bool {
        (lhs.incarnation, lhs.status) < (rhs.incarnation, rhs.status)
    }
}
