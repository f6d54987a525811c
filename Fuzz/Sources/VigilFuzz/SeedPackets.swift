import VigilCore
import VigilCrypto

/// Valid packets of every message and update type: the fuzzer's starting points, so
/// that its mutations begin deep inside the format instead of at its first byte.
enum SeedPackets {
    static let all: [Packet] = {
        let identity = SigningKey(seed: [UInt8](repeating: 7, count: SigningKey.seedByteCount))!
        let signature = identity.sign(Array("seed".utf8))
        func member(_ name: String, _ host: String, status: MemberStatus, tags: [String: String] = [:]) -> Member {
            Member(
                name: name, address: Address(host: host, port: 7946), incarnation: 1 << 32 | 3, status: status,
                tags: tags, identityKey: identity.publicKey)
        }
        let members = [
            member("compute-01", "10.0.0.1", status: .alive, tags: ["az": "zone-a", "role": "compute"]),
            member("compute-02", "2001:db8::2", status: .suspect),
            member("compute-03", "node-3.example.org", status: .failed),
            member("compute-04", "10.0.0.4", status: .left),
        ]
        let vote = Vote(subject: "compute-03", incarnation: 1 << 32 | 3, observer: "compute-01", signature: signature)
        let departure = Departure(name: "compute-04", incarnation: 1 << 32 | 3, signature: signature)
        let certificate = FailureCertificate(
            subject: "compute-03", incarnation: 1 << 32 | 3,
            votes: ["compute-01", "compute-02"].map {
                Vote(subject: "compute-03", incarnation: 1 << 32 | 3, observer: $0, signature: signature)
            })
        let updates: [Update] = [
            .alive(members[0]),
            .suspect(Suspicion(subject: "compute-02", incarnation: 1 << 32 | 3, observer: "compute-01")),
            .vote(vote),
            .left(departure),
            .failed(certificate),
        ]
        let messages: [Message] = [
            .ping(seq: 1, target: "compute-02"),
            .ack(seq: 1),
            .pingReq(seq: 2, target: "compute-03", address: Address(host: "10.0.0.3", port: 7946)),
            .nack(seq: 2),
            .sync(Sync(digest: 0xDEAD_BEEF, replyWanted: true, state: nil)),
            .sync(
                Sync(
                    digest: 1, replyWanted: false,
                    state: MembershipState(members: members, votes: certificate.votes, departures: [departure]))),
            .gossip,
        ]
        return messages.map { Packet(sender: "compute-01", message: $0) }
            + updates.map { Packet(sender: "compute-01", message: .ack(seq: 9), gossip: [$0]) }
            + [Packet(sender: "compute-01", message: .gossip, gossip: updates)]
    }()
}
