import VigilCore

/// One `.failureCertified` event, as a node published it: the raw material for
/// invariant checks (no certificate without a quorum, none against a live node, ...).
public struct CertifiedFailure: Sendable, Equatable {
    /// When the node published it.
    public var at: Instant
    /// Index of the node that published it.
    public var observer: Int
    public var certificate: FailureCertificate
    /// What the subject really was at that moment (`nil`: a name outside the cluster).
    public var subjectState: NodeState?

    public init(at: Instant, observer: Int, certificate: FailureCertificate, subjectState: NodeState?) {
        self.at = at
        self.observer = observer
        self.certificate = certificate
        self.subjectState = subjectState
    }
}
