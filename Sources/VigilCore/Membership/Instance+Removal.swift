import VigilCrypto

/// Why `Instance.forceLeave(_:now:)` refused. A struct over a private enum, so that
/// cases can be added without breaking callers (SwiftNIO's error style).
public struct ForceLeaveError: Error, Equatable, Sendable, CustomStringConvertible {
    private enum Reason: Equatable, Sendable {
        case unknown
        case notFailed(MemberStatus)
        case isSelf
    }

    private let reason: Reason
    /// The member the operator named.
    public let name: String

    /// No member of that name is known here.
    public static func unknown(_ name: String) -> ForceLeaveError { .init(reason: .unknown, name: name) }
    /// The member is alive, suspect or already left: only a failed one can be removed.
    public static func notFailed(_ name: String, status: MemberStatus) -> ForceLeaveError {
        .init(reason: .notFailed(status), name: name)
    }
    /// The operator named this node itself (`vigil leave` is the way out).
    public static func isSelf(_ name: String) -> ForceLeaveError { .init(reason: .isSelf, name: name) }

    /// The member's status when it is known but not failed.
    public var status: MemberStatus? {
        if case .notFailed(let status) = self.reason { return status }
        return nil
    }

    public var description: String {
        switch self.reason {
        case .unknown:
            "no member named `\(self.name)`"
        case .notFailed(let status):
            "member `\(self.name)` is \(status), not failed: only a failed member can be forced to leave"
        case .isSelf:
            "`\(self.name)` is this node: use `vigil leave` to leave gracefully"
        }
    }
}

extension Instance {
    /// An operator's `force-leave`: marks the failed member `name` as left for its
    /// current life and gossips the removal, signed by this node, so that every member
    /// stops reporting and retrying it. A restart of that node (a new life) joins as
    /// usual. Like `serf force-leave`, only a failed member can be removed: a live one
    /// would simply refute, and removing it would hide a running node.
    ///
    /// - Throws: `ForceLeaveError` naming why nothing was done.
    public mutating func forceLeave(_ name: String, now: Instant) throws(ForceLeaveError) -> [Directive] {
        guard name != self.me.name else { throw .isSelf(name) }
        guard let entry = self.entries[name] else { throw .unknown(name) }
        guard entry.member.status == .failed else { throw .notFailed(name, status: entry.member.status) }
        self.begin(now)
        let incarnation = entry.member.incarnation
        let removal = Removal(
            name: name, incarnation: incarnation, issuer: self.me.name,
            signature: self.identity.sign(
                Removal.signedBytes(name: name, incarnation: incarnation, issuer: self.me.name)))
        self.applyRemoval(removal)
        return self.finish()
    }

    /// A removal is valid against a member that is failed here in the same life, when
    /// its issuer is a member this node knows and the issuer's signature verifies.
    mutating func applyRemoval(_ removal: Removal) {
        guard removal.name != self.me.name else { return }
        guard var entry = self.entries[removal.name], entry.member.status == .failed,
            Incarnation.life(of: removal.incarnation) == Incarnation.life(of: entry.member.incarnation)
        else { return }
        guard self.verifySignature(of: removal) else {
            self.publish(.dropped(reason: .badSignature))
            return
        }
        entry.member.status = .left
        entry.removal = removal
        entry.reconnect = nil
        self.entries[removal.name] = entry
        self.voterMayHaveChanged(removal.name)
        self.publish(
            .statusChanged(member: removal.name, from: .failed, to: .left, incarnation: entry.member.incarnation))
        self.queue.enqueue(.removed(removal), key: .member(removal.name), priority: .failureNews)
    }

    /// Whether `removal` is signed by the identity key this node knows for its issuer.
    func verifySignature(of removal: Removal) -> Bool {
        guard let issuer = self.member(named: removal.issuer) else { return false }
        return issuer.identityKey.isValidSignature(removal.signature, for: removal.signedBytes)
    }
}
