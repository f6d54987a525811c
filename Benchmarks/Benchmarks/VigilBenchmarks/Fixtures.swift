import VigilCore
import VigilCrypto

/// Deterministic members, keys and packets shared by the benchmarks.
enum Fixtures {
    /// A distinct, repeatable 32-byte Ed25519 seed for member number `index`.
    static func seed(_ index: Int) -> [UInt8] {
        var rng = DeterministicRNG(seed: UInt64(index) &+ 0x5EED)
        return (0..<SigningKey.seedByteCount).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    }

    static func key(_ index: Int) -> SigningKey {
        SigningKey(seed: Self.seed(index))!
    }

    /// Names shaped like Nova compute hosts, so string sizes on the wire are realistic.
    static func name(_ index: Int) -> String {
        let digits = String(index)
        return "compute-" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// The inverse of `name(_:)`.
    static func index(of name: String) -> Int {
        Int(name.dropFirst("compute-".count))!
    }

    static func address(_ index: Int) -> Address {
        Address(host: Self.name(index) + ".bench.invalid", port: 7946)
    }

    /// Member `index`, alive, with the two tags a deployment typically gossips.
    static func member(_ index: Int, key: SigningKey? = nil) -> Member {
        Member(
            name: Self.name(index), address: Self.address(index), incarnation: 1, status: .alive,
            tags: ["role": "compute", "az": "az-\(index % 3 + 1)"],
            identityKey: (key ?? Self.key(index)).publicKey)
    }

    /// A ping whose gossip fills the datagram as the core packs it: every `.alive`
    /// update that fits in `mtu - sealOverhead` (1400 - 48 bytes with `.lan`).
    static func fullPacket() -> Packet {
        let gossipSettings = Configuration.lan.gossip
        let sender = Self.name(0)
        let message = Message.ping(seq: 4_242, target: Self.name(1))
        var budget =
            gossipSettings.mtu - gossipSettings.sealOverhead
            - Packet.encodedOverhead(sender: sender, message: message)
        var gossip: [Update] = []
        var index = 2
        while true {
            let update = Update.alive(Self.member(index))
            guard update.encodedSize <= budget else { break }
            budget -= update.encodedSize
            gossip.append(update)
            index += 1
        }
        return Packet(sender: sender, message: message, gossip: gossip)
    }

    /// The full state a peer of a healthy `size`-member cluster (members 0 to
    /// `size - 1`, all alive) sends in a push-pull: every member, no proofs needed.
    static func clusterState(size: Int) -> MembershipState {
        MembershipState(members: (0..<size).map { Self.member($0) })
    }

    /// The reply a seed (member 1) sends a joining member 0 that pushed its own record:
    /// the seed's full state, no reply wanted (`Instance.handleSync`). The digest is
    /// not checked when a state comes with it.
    static func pushPullReply(clusterSize: Int) -> Packet {
        Packet(
            sender: Self.name(1),
            message: .sync(Sync(digest: 0, replyWanted: false, state: Self.clusterState(size: clusterSize))))
    }

    /// Member 0, started with no seeds, on `.lan`: knows no one yet.
    static func startedInstance(configuration: Configuration = .lan) -> Instance {
        var instance = Instance(
            name: Self.name(0), address: Self.address(0), identity: Self.key(0), incarnation: 1,
            configuration: configuration, rng: DeterministicRNG(seed: 1))
        _ = instance.start(joining: [], now: .zero)
        return instance
    }

    /// Member 0 after it merged the full state of a healthy `clusterSize`-member cluster.
    static func instanceKnowing(clusterSize: Int, configuration: Configuration = .lan) -> Instance {
        var instance = Self.startedInstance(configuration: configuration)
        _ = instance.receive(Self.pushPullReply(clusterSize: clusterSize), from: Self.address(1), now: .zero)
        precondition(instance.members.count == clusterSize, "the instance must know the whole cluster")
        return instance
    }

    /// A failure certificate against member `subject` of a healthy `clusterSize`-member
    /// cluster, as `declareFailed` gossips it: the votes of the first quorum (more than
    /// half) of the subject's `probe.observers` observers, each signed with its real key.
    static func certificate(
        against subject: Int, clusterSize: Int, configuration: Configuration = .lan
    ) -> FailureCertificate {
        let subjectName = Self.name(subject)
        let rings = ObserverRings(k: configuration.probe.observers, members: (0..<clusterSize).map { Self.name($0) })
        let observers = rings.observers(of: subjectName)
        let quorum = observers.count / 2 + 1
        let votes = observers.prefix(quorum).sorted().map { observer in
            Vote(
                subject: subjectName, incarnation: 1, observer: observer,
                signature: Self.key(Self.index(of: observer)).sign(
                    Vote.signedBytes(subject: subjectName, incarnation: 1, observer: observer)))
        }
        return FailureCertificate(subject: subjectName, incarnation: 1, votes: votes)
    }
}
