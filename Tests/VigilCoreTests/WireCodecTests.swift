import Testing
import VigilCrypto

@testable import VigilCore

// MARK: - Fixtures

private func key(_ seed: UInt8) -> PublicKey {
    PublicKey(bytes: (0..<UInt8(PublicKey.byteCount)).map { $0 &+ seed })!
}

private func signature(_ seed: UInt8) -> Signature {
    Signature(bytes: (0..<UInt8(Signature.byteCount)).map { $0 &* 3 &+ seed })!
}

private func member(
    _ name: String,
    host: String = "10.0.0.1",
    port: UInt16 = 7946,
    incarnation: UInt64 = 1,
    status: MemberStatus = .alive,
    tags: [String: String] = [:]
) -> Member {
    Member(
        name: name, address: Address(host: host, port: port), incarnation: incarnation, status: status,
        tags: tags, identityKey: key(UInt8(truncatingIfNeeded: name.utf8.count)))
}

private let manyTags: [String: String] = Dictionary(
    uniqueKeysWithValues: (0..<WireCodec.maxTagCount).map { ("tag-\($0)", "value-\($0)-ü") })

private let sampleMembers: [Member] = [
    member("compute-01"),
    member("nœud-东京-🚀", host: "2001:db8::1", port: 65535, incarnation: .max, status: .suspect),
    member("", host: "fe80::1%eth0", port: 0, incarnation: 0, status: .failed, tags: ["": ""]),
    member("rack-b", host: "node.example.org", status: .left, tags: ["role": "compute", "az": "zone-ä"]),
    member("tagged", tags: manyTags),
]

private let sampleVote = Vote(subject: "compute-02", incarnation: 7, observer: "compute-01", signature: signature(1))
private let sampleDeparture = Departure(name: "compute-03", incarnation: 42, signature: signature(2))
private let sampleRemoval = Removal(name: "compute-04", incarnation: 9, issuer: "compute-01", signature: signature(3))

private let sampleRecord = KeyringRecord(
    version: 3, issuer: "compute-01", payload: (0..<100).map { UInt8($0) }, signature: signature(5))
private let sampleReport = KeyReport(
    member: "compute-02", sequence: 1 << 32 | 7, primary: 0x3F2A_9C01, installed: [0x3F2A_9C01, 0x0A1B_2C3D])

/// The keyring updates, named, each also sent alone below.
private let sampleKeyUpdates: [(name: String, update: Update)] = [
    ("keyring", .keyring(sampleRecord)),
    (
        "keyring with an empty payload and issuer",
        .keyring(KeyringRecord(version: .max, issuer: "", payload: [], signature: signature(6)))
    ),
    (
        "keyring with the largest payload",
        .keyring(
            KeyringRecord(
                version: 0, issuer: "ñ", payload: [UInt8](repeating: 0xAB, count: WireCodec.maxKeyringPayloadBytes),
                signature: signature(7)))
    ),
    ("key report", .keyReport(sampleReport)),
    (
        "key report with sixteen keys",
        .keyReport(
            KeyReport(
                member: "東京", sequence: .max, primary: .max,
                installed: (0..<UInt32(WireCodec.maxReportedKeys)).map { $0 &* 0x0101_0101 }))
    ),
    ("key report with no keys", .keyReport(KeyReport(member: "", sequence: 0, primary: 0, installed: []))),
]

private let sampleUpdates: [Update] =
    sampleMembers.map { .alive($0) } + [
        .suspect(Suspicion(subject: "compute-02", incarnation: 3, observer: "compute-01")),
        .suspect(Suspicion(subject: "", incarnation: .max, observer: "ñ")),
        .vote(sampleVote),
        .vote(Vote(subject: "ö", incarnation: 0, observer: "", signature: signature(9))),
        .left(sampleDeparture),
        .failed(
            FailureCertificate(
                subject: "compute-02", incarnation: 7,
                votes: ["compute-01", "compute-05", "計算-9"].enumerated().map {
                    Vote(subject: "compute-02", incarnation: 7, observer: $1, signature: signature(UInt8(20 + $0)))
                })),
        .failed(FailureCertificate(subject: "", incarnation: 0, votes: [])),
        .removed(sampleRemoval),
        .removed(Removal(name: "", incarnation: .max, issuer: "計算", signature: signature(4))),
    ] + sampleKeyUpdates.map(\.update)

private let sampleMessages: [(name: String, message: Message)] = [
    ("ping", .ping(seq: 0, target: "compute-02")),
    ("ping to a non-ASCII target", .ping(seq: .max, target: "東京")),
    ("ack", .ack(seq: 17)),
    (
        "pingReq to an IPv6 host",
        .pingReq(seq: 5, target: "compute-03", address: Address(host: "2001:db8::3", port: 7946))
    ),
    ("nack", .nack(seq: 9)),
    ("voteRequest", .election(.voteRequest(term: .max, voters: 0x0123_4567_89AB_CDEF, count: 5))),
    ("voteReply granted", .election(.voteReply(term: 3, granted: true))),
    ("voteReply refused", .election(.voteReply(term: 0, granted: false))),
    ("heartbeat", .election(.heartbeat(term: 9, seq: .max))),
    ("heartbeatAck", .election(.heartbeatAck(term: 9, seq: 1))),
    ("preVoteRequest", .election(.preVoteRequest(term: 4, voters: 7, count: 3))),
    ("preVoteReply", .election(.preVoteReply(term: 4, granted: true))),
    ("sync digest only", .sync(Sync(digest: 0xDEAD_BEEF_0123_4567, replyWanted: true, state: nil))),
    ("sync with empty state", .sync(Sync(digest: 0, replyWanted: false, state: MembershipState(members: [])))),
    (
        "sync with full state",
        .sync(
            Sync(
                digest: .max, replyWanted: true,
                state: MembershipState(
                    members: sampleMembers, votes: [sampleVote], departures: [sampleDeparture],
                    removals: [sampleRemoval])))
    ),
    (
        "sync with full state and keys",
        .sync(
            Sync(
                digest: 3, replyWanted: false,
                state: MembershipState(
                    members: sampleMembers, votes: [sampleVote], departures: [sampleDeparture], keyring: sampleRecord,
                    keyReports: [sampleReport, KeyReport(member: "x", sequence: 1, primary: 2, installed: [2])])))
    ),
    (
        "sync with key reports but no keyring",
        .sync(
            Sync(
                digest: 4, replyWanted: true,
                state: MembershipState(members: [], keyReports: [sampleReport])))
    ),
    (
        "sync with a keyring but no reports",
        .sync(Sync(digest: 5, replyWanted: true, state: MembershipState(members: [], keyring: sampleRecord)))
    ),
]

private let sampleUpdateNames = [
    "alive", "alive with non-ASCII name on IPv6", "alive with empty strings", "alive with two tags",
    "alive with 64 tags", "suspect", "suspect with empty subject", "vote", "vote with empty observer", "left",
]

/// A named packet, so test output lists the name rather than the whole value.
struct WirePacketSample: Sendable, CustomTestStringConvertible {
    var name: String
    var packet: Packet
    var testDescription: String { self.name }
}

/// Every message type, each alone and with gossip of every update type, and every
/// update type alone.
private let samplePackets: [WirePacketSample] =
    sampleMessages.map { WirePacketSample(name: $0.name, packet: Packet(sender: "compute-01", message: $0.message)) }
    + sampleMessages.map {
        WirePacketSample(
            name: "\($0.name) with all updates",
            packet: Packet(sender: "ñode-ß", message: $0.message, gossip: sampleUpdates))
    }
    + zip(sampleUpdateNames, sampleUpdates).map {
        WirePacketSample(name: "ack with \($0.0)", packet: Packet(sender: "", message: .ack(seq: 1), gossip: [$0.1]))
    }
    + sampleKeyUpdates.map {
        WirePacketSample(name: "ack with \($0.name)", packet: Packet(sender: "", message: .ack(seq: 1), gossip: [$0.update]))
    }

// MARK: - Round trips and sizes

@Suite("WireCodec")
struct WireCodecTests {
    @Test(arguments: samplePackets)
    func everyMessageAndUpdateTypeRoundTrips(sample: WirePacketSample) throws {
        let packet = sample.packet
        let bytes = packet.encoded()
        #expect(try Packet(decoding: bytes) == packet)
        #expect(try Packet(decoding: bytes[...]) == packet)
        try packet.validateForWire()
    }

    @Test(arguments: samplePackets)
    func encodedSizeEqualsEncodedByteCount(sample: WirePacketSample) {
        let packet = sample.packet
        #expect(packet.encodedSize == packet.encoded().count)
    }

    @Test(arguments: samplePackets)
    func packetSizeIsOverheadPlusUpdateSizes(sample: WirePacketSample) {
        let packet = sample.packet
        let overhead = Packet.encodedOverhead(sender: packet.sender, message: packet.message)
        #expect(packet.encodedSize == overhead + packet.gossip.map(\.encodedSize).reduce(0, +))
        #expect(Packet(sender: packet.sender, message: packet.message).encoded().count == overhead)
    }

    @Test func layoutOfAPingIsPinned() {
        let packet = Packet(
            sender: "a", message: .ping(seq: 0x0102_0304, target: "bc"),
            gossip: [.suspect(Suspicion(subject: "d", incarnation: 5, observer: ""))])
        let expected: [UInt8] = [
            1, 1,  // version, ping
            1, 0x61,  // sender "a"
            1, 2, 3, 4, 2, 0x62, 0x63,  // seq, target "bc"
            0, 1,  // one update
            2, 1, 0x64, 0, 0, 0, 0, 0, 0, 0, 5, 0,  // suspect "d" at 5 by ""
        ]
        #expect(packet.encoded() == expected)
    }

    @Test func equalTagsEncodeToEqualBytesWhateverTheInsertionOrder() {
        var forward: [String: String] = [:]
        var backward: [String: String] = [:]
        for i in 0..<20 { forward["k\(i)"] = "v\(i)" }
        for i in (0..<20).reversed() { backward["k\(i)"] = "v\(i)" }
        let a = Packet(sender: "s", message: .ack(seq: 1), gossip: [.alive(member("m", tags: forward))])
        let b = Packet(sender: "s", message: .ack(seq: 1), gossip: [.alive(member("m", tags: backward))])
        #expect(a.encoded() == b.encoded())
    }

    @Test func largeSyncRoundTrips() throws {
        let members = (0..<2_000).map { member("node-\($0)", incarnation: UInt64($0), tags: ["i": "\($0)"]) }
        let votes = (0..<500).map {
            Vote(
                subject: "node-\($0)", incarnation: 1, observer: "node-\($0 + 1)",
                signature: signature(UInt8($0 % 256)))
        }
        let packet = Packet(
            sender: "node-0",
            message: .sync(Sync(digest: 1, replyWanted: false, state: MembershipState(members: members, votes: votes))))
        let bytes = packet.encoded()
        #expect(bytes.count == packet.encodedSize)
        #expect(try Packet(decoding: bytes) == packet)
    }

    // MARK: - Packing under the MTU

    @Test func gossipPackedToTheMTUStaysWithinIt() {
        let mtu = 1400
        var rng = DeterministicRNG(seed: 7)
        let pool: [Update] = (0..<300).map { i in
            switch rng.next() % 4 {
            case 0:
                .alive(member("node-\(i)", host: "2001:db8::\(i)", tags: ["role": "compute", "az": "z\(i % 3)"]))
            case 1: .suspect(Suspicion(subject: "node-\(i)", incarnation: rng.next(), observer: "node-0"))
            case 2: .vote(Vote(subject: "node-\(i)", incarnation: 2, observer: "node-1", signature: signature(3)))
            default: .left(Departure(name: "node-\(i)", incarnation: 9, signature: signature(4)))
            }
        }
        let message = Message.ping(seq: 77, target: "node-9")
        var size = Packet.encodedOverhead(sender: "node-0", message: message)
        var gossip: [Update] = []
        for update in pool where size + update.encodedSize <= mtu {
            size += update.encodedSize
            gossip.append(update)
        }
        let packet = Packet(sender: "node-0", message: message, gossip: gossip)
        let bytes = packet.encoded()
        #expect(gossip.count > 5)
        #expect(bytes.count == size)
        #expect(bytes.count <= mtu)
        #expect(pool.allSatisfy { gossip.contains($0) || size + $0.encodedSize > mtu })
    }

    // MARK: - Rejecting bad input

    @Test(arguments: samplePackets)
    func everyTruncationThrowsTruncatedOrOutOfBounds(sample: WirePacketSample) {
        let bytes = sample.packet.encoded()
        for length in 0..<bytes.count {
            let error = #expect(throws: WireError.self, "prefix of \(length) bytes") {
                try Packet(decoding: Array(bytes.prefix(length)))
            }
            #expect(error == .truncated || error == .lengthOutOfBounds, "prefix of \(length) bytes")
        }
    }

    @Test func emptyInputIsTruncated() {
        #expect(throws: WireError.truncated) { try Packet(decoding: []) }
    }

    @Test func truncationInsideAFieldThrowsTruncated() {
        let bytes = Packet(sender: "compute-01", message: .ack(seq: 1)).encoded()
        #expect(throws: WireError.truncated) { try Packet(decoding: Array(bytes.dropLast())) }
        #expect(throws: WireError.truncated) { try Packet(decoding: Array(bytes.prefix(5))) }
    }

    @Test(arguments: [0, 2, 255] as [UInt8])
    func otherVersionsAreUnsupported(version: UInt8) {
        var bytes = Packet(sender: "a", message: .ack(seq: 1)).encoded()
        bytes[0] = version
        #expect(throws: WireError.unsupportedVersion) { try Packet(decoding: bytes) }
    }

    @Test(arguments: [0, 13, 255] as [UInt8])
    func unknownMessageTypesAreRejected(type: UInt8) {
        var bytes = Packet(sender: "a", message: .ack(seq: 1)).encoded()
        bytes[1] = type
        #expect(throws: WireError.unknownMessageType) { try Packet(decoding: bytes) }
    }

    // The first number after the last assigned update type (6 `removed`, 7 keyring,
    // 8 key report, 9 HA record).
    @Test(arguments: [0, 10, 255] as [UInt8])
    func unknownUpdateTypesAreRejected(type: UInt8) {
        let packet = Packet(sender: "a", message: .ack(seq: 1), gossip: [.left(sampleDeparture)])
        var bytes = packet.encoded()
        let updateStart = Packet.encodedOverhead(sender: "a", message: .ack(seq: 1))
        #expect(bytes[updateStart] == 4)
        bytes[updateStart] = type
        #expect(throws: WireError.unknownUpdateType) { try Packet(decoding: bytes) }
    }

    @Test func unknownMemberStatusIsRejected() {
        let packet = Packet(sender: "", message: .ack(seq: 1), gossip: [.alive(member("m", host: "h"))])
        var bytes = packet.encoded()
        // header 2, sender 1, ack 4, count 2, type 1, name 2, host 2, port 2, incarnation 8
        let statusOffset = 2 + 1 + 4 + 2 + 1 + 2 + 2 + 2 + 8
        #expect(bytes[statusOffset] == MemberStatus.alive.rawValue)
        bytes[statusOffset] = 4
        #expect(throws: WireError.unknownMemberStatus) { try Packet(decoding: bytes) }
    }

    @Test func invalidUTF8IsRejected() {
        var bytes = Packet(sender: "ab", message: .ack(seq: 1)).encoded()
        bytes[3] = 0xC3  // a lead byte followed by "b", not a continuation byte
        #expect(throws: WireError.invalidUTF8) { try Packet(decoding: bytes) }
        bytes[3] = 0xFF
        #expect(throws: WireError.invalidUTF8) { try Packet(decoding: bytes) }
    }

    @Test func trailingBytesAreRejected() {
        let bytes = Packet(sender: "a", message: .nack(seq: 1), gossip: [sampleUpdates[0]]).encoded()
        #expect(throws: WireError.trailingBytes) { try Packet(decoding: bytes + [0]) }
    }

    @Test func reservedSyncFlagsAreRejected() {
        var bytes = Packet(sender: "", message: .sync(Sync(digest: 1, replyWanted: true, state: nil))).encoded()
        let flagsOffset = 2 + 1 + 8
        #expect(bytes[flagsOffset] == 0b01)
        bytes[flagsOffset] = 0b101
        #expect(throws: WireError.invalidFlags) { try Packet(decoding: bytes) }
    }

    @Test func duplicateTagKeysAreRejected() {
        let packet = Packet(
            sender: "", message: .ack(seq: 1), gossip: [.alive(member("m", tags: ["a": "1", "b": "2"]))])
        var bytes = packet.encoded()
        // Tags are written in key order; turn key "b" into a second "a".
        let second = bytes.lastIndex(of: UInt8(ascii: "b"))!
        bytes[second] = UInt8(ascii: "a")
        #expect(throws: WireError.duplicateTag) { try Packet(decoding: bytes) }
    }

    @Test func hugeMemberCountWithFewBytesIsRejectedBeforeAllocating() {
        let header = Packet(sender: "", message: .sync(Sync(digest: 0, replyWanted: false, state: nil))).encoded()
        // Version, type, sender, digest; then flags "state follows" and a member count.
        var base = Array(header.prefix(2 + 1 + 8))
        base.append(WireCodec.syncHasState)
        let overLimit = base + [0xFF, 0xFF, 0xFF, 0xFF] + [UInt8](repeating: 0, count: 100)
        #expect(throws: WireError.lengthOutOfBounds) { try Packet(decoding: overLimit) }
        // Within the 1,000,000 limit, but 100 bytes cannot hold 999,999 members.
        let underLimit = base + [0x00, 0x0F, 0x42, 0x3F] + [UInt8](repeating: 0, count: 100)
        #expect(throws: WireError.lengthOutOfBounds) { try Packet(decoding: underLimit) }
    }

    // MARK: - Keyring records and key reports

    @Test func keyringPayloadOverTheLimitIsRejectedBeforeReadingIt() {
        let packet = Packet(sender: "", message: .ack(seq: 1), gossip: [.keyring(sampleRecord)])
        var bytes = packet.encoded()
        // header 2, sender 1, ack 4, count 2, type 1, version 8, issuer 1 + 10: the length.
        let lengthOffset = 2 + 1 + 4 + 2 + 1 + 8 + 1 + 10
        #expect(bytes[lengthOffset] == 0 && bytes[lengthOffset + 1] == 100)
        bytes[lengthOffset] = 0x02
        bytes[lengthOffset + 1] = 0x01  // 513 bytes announced
        bytes += [UInt8](repeating: 0, count: 600)  // and even present
        #expect(throws: WireError.lengthOutOfBounds) { try Packet(decoding: bytes) }
    }

    @Test func moreThanSixteenReportedKeysAreRejected() {
        let report = KeyReport(member: "m", sequence: 1, primary: 1, installed: [])
        var bytes = Packet(sender: "", message: .ack(seq: 1), gossip: [.keyReport(report)]).encoded()
        // header 2, sender 1, ack 4, count 2, type 1, member 2, sequence 8, primary 4: the count.
        let countOffset = 2 + 1 + 4 + 2 + 1 + 2 + 8 + 4
        #expect(bytes[countOffset] == 0)
        bytes[countOffset] = 17
        bytes += [UInt8](repeating: 0, count: 17 * 4)
        #expect(throws: WireError.lengthOutOfBounds) { try Packet(decoding: bytes) }
    }

    @Test func keysFlagWithoutAStateIsRejected() {
        var bytes = Packet(sender: "", message: .sync(Sync(digest: 1, replyWanted: false, state: nil))).encoded()
        let flagsOffset = 2 + 1 + 8
        bytes[flagsOffset] = WireCodec.syncHasKeys
        #expect(throws: WireError.invalidFlags) { try Packet(decoding: bytes + [0, 0, 0, 0, 0]) }
    }

    @Test func aStateWithoutKeysEncodesAsBeforeKeysExisted() {
        // Older nodes read such a sync: no keys flag, nothing after the departures.
        let state = MembershipState(members: sampleMembers, votes: [sampleVote])
        let bytes = Packet(sender: "s", message: .sync(Sync(digest: 1, replyWanted: true, state: state))).encoded()
        #expect(bytes[2 + 2 + 8] == WireCodec.syncReplyWanted | WireCodec.syncHasState)
    }

    @Test func oversizedKeyringPayloadFailsValidationAndIsCut() throws {
        let record = KeyringRecord(
            version: 1, issuer: "a", payload: [UInt8](repeating: 1, count: WireCodec.maxKeyringPayloadBytes + 1),
            signature: signature(1))
        #expect(throws: WireError.payloadTooLong) { try record.validateForWire() }
        let packet = Packet(sender: "s", message: .gossip, gossip: [.keyring(record)])
        #expect(throws: WireError.payloadTooLong) { try packet.validateForWire() }
        let bytes = packet.encoded()
        #expect(bytes.count == packet.encodedSize)
        guard case .keyring(let decoded) = try Packet(decoding: bytes).gossip.first else {
            Issue.record("expected a keyring update")
            return
        }
        #expect(decoded.payload.count == WireCodec.maxKeyringPayloadBytes)
    }

    @Test func aRecordDescriptionNeverShowsItsPayload() {
        let record = KeyringRecord(version: 2, issuer: "a", payload: Array("SECRET".utf8), signature: signature(1))
        #expect(record.description == "KeyringRecord(version: 2, issuer: a, payload: 6 bytes)")
        var dumped = ""
        dump(record, to: &dumped)
        #expect(!dumped.contains("83"), "the payload's first byte (S = 83) must not be dumped")
    }

    @Test func hugeGossipCountWithFewBytesIsRejected() {
        var bytes = Packet(sender: "a", message: .ack(seq: 1)).encoded()
        bytes[bytes.count - 2] = 0xFF
        bytes[bytes.count - 1] = 0xFF
        #expect(throws: WireError.lengthOutOfBounds) { try Packet(decoding: bytes + [UInt8](repeating: 2, count: 50)) }
    }

    @Test func moreThanSixtyFourTagsOnTheWireAreRejected() {
        var bytes = Packet(sender: "", message: .ack(seq: 1), gossip: [.alive(member("m", host: "h"))]).encoded()
        let tagCountOffset = 2 + 1 + 4 + 2 + 1 + 2 + 2 + 2 + 8 + 1
        #expect(bytes[tagCountOffset] == 0)
        bytes[tagCountOffset] = 65
        bytes.insert(contentsOf: [UInt8](repeating: 0, count: 130), at: tagCountOffset + 1)
        #expect(throws: WireError.lengthOutOfBounds) { try Packet(decoding: bytes) }
    }

    // MARK: - Fuzzing

    @Test func randomGarbageNeverTraps() throws {
        let seed: UInt64 = 0x5EED_0001
        var rng = DeterministicRNG(seed: seed)
        for _ in 0..<20_000 {
            var bytes = (0..<Int(rng.next() % 160)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            // Mostly a plausible header, so decoding gets past the first two bytes.
            if bytes.count >= 2, rng.next() % 4 != 0 {
                bytes[0] = 1
                bytes[1] = UInt8(1 + rng.next() % 5)
            }
            if let packet = try? Packet(decoding: bytes) {
                #expect(try Packet(decoding: packet.encoded()) == packet, "seed \(seed)")
            }
        }
    }

    @Test func mutatedValidPacketsNeverTrap() throws {
        let seed: UInt64 = 0x5EED_0002
        var rng = DeterministicRNG(seed: seed)
        let encoded = samplePackets.map { $0.packet.encoded() }
        var decoded = 0
        for _ in 0..<20_000 {
            var bytes = encoded[Int(rng.next() % UInt64(encoded.count))]
            for _ in 0..<(1 + rng.next() % 3) {
                let index = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 3 {
                case 0: bytes[index] ^= UInt8(1) << (rng.next() % 8)
                case 1: bytes[index] = UInt8(truncatingIfNeeded: rng.next())
                default: bytes.removeSubrange(index...)
                }
                if bytes.isEmpty { break }
            }
            if let packet = try? Packet(decoding: bytes) {
                decoded += 1
                // Whatever decodes re-encodes to something that decodes to the same packet.
                #expect(try Packet(decoding: packet.encoded()) == packet, "seed \(seed)")
                #expect(packet.encodedSize == packet.encoded().count, "seed \(seed)")
            }
        }
        #expect(decoded > 0, "seed \(seed): no mutation decoded; the fuzzer exercises too little")
    }

    // MARK: - Encoding what does not fit

    @Test func stringsLongerThan255BytesFailValidationAndAreCutAtAScalarBoundary() throws {
        let long = String(repeating: "é", count: 200)  // 400 UTF-8 bytes
        let packet = Packet(sender: long, message: .ping(seq: 1, target: String(repeating: "x", count: 300)))
        #expect(throws: WireError.stringTooLong) { try packet.validateForWire() }
        let bytes = packet.encoded()
        #expect(bytes.count == packet.encodedSize)
        let decoded = try Packet(decoding: bytes)
        #expect(decoded.sender == String(repeating: "é", count: 127))  // 254 bytes
        #expect(decoded.message == .ping(seq: 1, target: String(repeating: "x", count: 255)))
    }

    @Test func moreThan64TagsFailValidationAndTheFirst64InKeyOrderAreSent() throws {
        let tags = Dictionary(uniqueKeysWithValues: (0..<100).map { (String(format3($0)), "v") })
        let alive = member("m", tags: tags)
        #expect(throws: WireError.tooManyTags) { try alive.validateForWire() }
        let packet = Packet(sender: "s", message: .ack(seq: 1), gossip: [.alive(alive)])
        #expect(throws: WireError.tooManyTags) { try packet.validateForWire() }
        let bytes = packet.encoded()
        #expect(bytes.count == packet.encodedSize)
        guard case .alive(let decoded) = try Packet(decoding: bytes).gossip.first else {
            Issue.record("expected an alive update")
            return
        }
        #expect(decoded.tags.keys.sorted() == (0..<64).map { format3($0) })
    }

    @Test func validPacketsPassValidation() throws {
        for sample in samplePackets {
            try sample.packet.validateForWire()
        }
    }

    @Test func errorsDescribeWhatWentWrong() {
        #expect(WireError.unsupportedVersion.description.contains("1...1"))
        #expect(WireError.stringTooLong.description.contains("255"))
        #expect(WireError.truncated != WireError.trailingBytes)
    }
}

/// "007"-style keys, so string order equals numeric order.
private func format3(_ n: Int) -> String {
    let digits = String(n)
    return String(repeating: "0", count: 3 - digits.count) + digits
}
