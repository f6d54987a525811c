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
}
