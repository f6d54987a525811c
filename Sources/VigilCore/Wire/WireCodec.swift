import VigilCrypto

// Vigil wire format, protocol version 1.
//
// Compact and not self-describing: the version byte says how to read the rest.
// Integers are unsigned, big-endian, fixed width. `str` is a 1-byte length followed
// by that many bytes of UTF-8 (0...255 bytes). `key` is an Ed25519 public key, 32 raw
// bytes; `sig` an Ed25519 signature, 64 raw bytes. A packet is followed by nothing:
// trailing bytes are an error. The agent seals the whole packet (DESIGN.md, Security).
//
// Packet
//   u8    version          1; a receiver accepts `WireCodec.supportedVersions` (1...1)
//   u8    message type     see below
//   str   sender
//   ...   message body     per message type
//   u16   gossip count     <= maxGossipCount
//   ...   updates          each: u8 update type, then its body
//
// Message types. Append-only: never renumber, never reuse a retired number.
//   1  ping      u32 seq, str target
//   2  ack       u32 seq
//   3  pingReq   u32 seq, str target, address
//   4  nack      u32 seq
//   5  sync      u64 digest,
//                u8 flags (bit 0: replyWanted, bit 1: state follows, bit 2: keys follow, bit 3: HA records follow
//                  (only with bit 1); other bits 0),
//                if state follows:
//                  u32 count (<= maxStateEntries), count x member
//                  u32 count (<= maxStateEntries), count x vote
//                  u32 count (<= maxStateEntries), count x departure
//                  u32 count (<= maxStateEntries), count x removal
//                if keys follow:
//                  u8 count (0 or 1), count x keyring record
//                  u32 count (<= maxStateEntries), count x key report
//                (keys are flagged so that a state without any encodes as before)
//                if HA records follow (flag bit 3):
//                  u32 count (<= maxStateEntries), count x ha record
//   6  gossip    no body: the packet exists to carry updates
//   7  voteRequest    u64 term, u64 voters digest, u32 voter count
//   8  voteReply      u64 term, u8 granted (0 or 1)
//   9  heartbeat      u64 term, u32 seq          -- the leader renews its lease
//   10 heartbeatAck   u64 term, u32 seq
//   11 preVoteRequest u64 term, u64 voters digest, u32 voter count
//   12 preVoteReply   u64 term, u8 granted (0 or 1)
//
// Update types. Append-only, like message types.
//   1  alive     member
//   2  suspect   str subject, u64 incarnation, str observer
//   3  vote      vote
//   4  left      departure
//   5  failed    str subject, u64 incarnation, u8 count (<= maxCertificateVotes),
//                count x (str observer, sig)   -- a failure certificate
//   6  removed   removal                       -- `vigil force-leave`
//   7  keyring   keyring record
//   8  keys      key report
//   9  ha        ha record                     -- a failed node's HA step, signed by the leader
//
// Bodies shared by several types
//   address      str host, u16 port
//   member       str name, address, u64 incarnation,
//                u8 status (0 alive, 1 suspect, 2 failed, 3 left),
//                u8 tag count (<= maxTagCount), count x (str key, str value) in key
//                order (String `<`, so equal tags encode to equal bytes), key identity
//   vote         str subject, u64 incarnation, str observer, sig
//   departure    str name, u64 incarnation, sig
//   removal      str name, u64 incarnation, str issuer, sig
//   ha record    str node, u32 life, u64 term, u32 sequence, u8 phase (1...9), str leader,
//                u16 attempts, str detail, sig
//   keyring record  u64 version, str issuer, u16 length (<= maxKeyringPayloadBytes),
//                length bytes of payload (opaque to the core), sig
//   key report   str member, u64 sequence, u32 primary key id,
//                u8 count (<= maxReportedKeys), count x u32 installed key id
//
// Decoding checks every count against its limit and against the bytes that remain
// (count x the element's minimum size) before allocating, and never traps.

/// Constants of the wire format; the layout is documented at the top of this file.
public enum WireCodec {
    /// The protocol version this build writes.
    public static let currentVersion: UInt8 = 1
    /// The protocol versions this build reads. Widen the lower bound only when a
    /// version is retired from every supported release (memberlist's ProtocolVersionMin).
    public static let supportedVersions: ClosedRange<UInt8> = 1...1

    /// Longest name, host, tag key or tag value, in UTF-8 bytes (1-byte length).
    public static let maxStringBytes = 255
    /// Most tags a member may carry.
    public static let maxTagCount = 64
    /// Most updates in one packet (2-byte count).
    public static let maxGossipCount = Int(UInt16.max)
    /// Most members, and separately most votes, departures and removals, in one sync.
    public static let maxStateEntries = 1_000_000
    /// Most votes a certificate carries on the wire (observers per member are few).
    public static let maxCertificateVotes = 32
    /// Largest keyring payload. The agent puts at most 8 keys of 32 bytes in one
    /// (259 bytes); 512 leaves room and keeps the record (at most 843 bytes with a
    /// 255-byte issuer) inside a gossip packet under the default 1400-byte MTU.
    public static let maxKeyringPayloadBytes = 512
    /// Most key ids one key report carries.
    public static let maxReportedKeys = 16

    /// Bytes before the message body: version, type.
    static let headerSize = 2
    /// Bytes of the gossip count after the message body.
    static let gossipCountSize = 2

    // Smallest encodings, for checking counts against the remaining bytes.
    static let minimumTagSize = 2  // two empty strings
    static let minimumMemberSize = 1 + (1 + 2) + 8 + 1 + 1 + PublicKey.byteCount  // 46
    static let minimumVoteSize = 1 + 8 + 1 + Signature.byteCount  // 74
    static let minimumDepartureSize = 1 + 8 + Signature.byteCount  // 73
    static let minimumRemovalSize = 1 + 8 + 1 + Signature.byteCount  // 74
    static let minimumUpdateSize = 1 + (1 + 8 + 1)  // 11: a suspicion with empty names
    static let minimumKeyringSize = 8 + 1 + 2 + Signature.byteCount  // 75
    static let minimumKeyReportSize = 1 + 8 + 4 + 1  // 14
    static let minimumHARecordSize = 1 + 4 + 8 + 4 + 1 + 1 + 2 + 1 + Signature.byteCount  // 86

    /// Message type numbers (append-only).
    enum MessageType: UInt8 {
        case ping = 1
        case ack = 2
        case pingReq = 3
        case nack = 4
        case sync = 5
        case gossip = 6
        case voteRequest = 7
        case voteReply = 8
        case heartbeat = 9
        case heartbeatAck = 10
        case preVoteRequest = 11
        case preVoteReply = 12
    }

    /// Update type numbers (append-only).
    enum UpdateType: UInt8 {
        case alive = 1
        case suspect = 2
        case vote = 3
        case left = 4
        case failed = 5
        case removed = 6
        case keyring = 7
        case keyReport = 8
        case ha = 9
    }

    /// Sync flag bits.
    static let syncReplyWanted: UInt8 = 0b01
    static let syncHasState: UInt8 = 0b10
    static let syncHasKeys: UInt8 = 0b100
    static let syncHasHA: UInt8 = 0b1000

    /// How many of `utf8`'s bytes go on the wire: all of them if they fit in
    /// `maxStringBytes`, otherwise the longest prefix that fits and ends on a Unicode
    /// scalar boundary (so what is sent is still valid UTF-8).
    @inline(__always)
    static func wireLength(of utf8: String.UTF8View) -> Int {
        let count = utf8.count
        guard count > Self.maxStringBytes else { return count }
        var length = Self.maxStringBytes
        var index = utf8.index(utf8.startIndex, offsetBy: length)
        // utf8[index] is the first byte left out; while it continues a scalar, the
        // scalar it belongs to must be left out whole.
        while length > 0, utf8[index] & 0b1100_0000 == 0b1000_0000 {
            length -= 1
            index = utf8.index(before: index)
        }
        return length
    }

    /// Encoded size of a `str`.
    @inline(__always)
    static func size(of string: String) -> Int {
        1 + Self.wireLength(of: string.utf8)
    }

    /// The tags in the order they are encoded, with at most `maxTagCount` of them.
    static func orderedTags(_ tags: [String: String]) -> [(key: String, value: String)] {
        let sorted = tags.sorted { $0.key < $1.key }
        return sorted.count > Self.maxTagCount ? Array(sorted.prefix(Self.maxTagCount)) : sorted
    }

    static func validate(_ string: String) throws(WireError) {
        guard string.utf8.count <= Self.maxStringBytes else { throw .stringTooLong }
    }
}

// MARK: - Packet

extension Packet {
    /// The packet in wire format (layout at the top of `WireCodec.swift`).
    ///
    /// Never traps. A packet that `validateForWire()` rejects is still encoded, but
    /// clamped so the bytes stay well-formed: strings over `WireCodec.maxStringBytes`
    /// are cut at the last Unicode scalar boundary that fits, a member's tags are cut
    /// to the first `WireCodec.maxTagCount` in key order, and lists to the first
    /// `maxGossipCount` updates or `maxStateEntries` entries. Such a packet does not
    /// decode to an equal value (and clamping can even make two tag keys equal, which
    /// the decoder rejects), so the core validates its own name and tags up front.
    public func encoded() -> [UInt8] {
        var writer = WireWriter(capacity: self.encodedSize)
        writer.write(self)
        return writer.bytes
    }

    /// Appends ``encoded()`` to `bytes`, for a caller that frames the packet in a
    /// larger buffer: no array of its own to copy from. Reserve
    /// ``encodedSize`` more bytes first, and the array does not grow.
    public func encode(appendingTo bytes: inout [UInt8]) {
        var writer = WireWriter(appendingTo: [])
        // Swapped, not copied: the writer's array is the only reference, so appending
        // to it copies nothing.
        swap(&bytes, &writer.bytes)
        writer.write(self)
        swap(&bytes, &writer.bytes)
    }

    /// The number of bytes `encoded()` returns, computed without allocating (unless a
    /// member has more than `WireCodec.maxTagCount` tags).
    public var encodedSize: Int {
        var size = Self.encodedOverhead(sender: self.sender, message: self.message)
        for update in self.gossip.prefix(WireCodec.maxGossipCount) {
            size += update.encodedSize
        }
        return size
    }

    /// The bytes of a packet from `sender` carrying `message` and no gossip: header,
    /// sender, message body and the gossip count.
    ///
    /// For any packet with at most `WireCodec.maxGossipCount` updates,
    ///
    ///     Packet(sender: s, message: m, gossip: g).encodedSize
    ///         == Packet.encodedOverhead(sender: s, message: m)
    ///            + g.map(\.encodedSize).reduce(0, +)
    ///
    /// so a sender packs gossip under an MTU by starting from the overhead and adding
    /// updates while the sum stays within the budget.
    public static func encodedOverhead(sender: String, message: Message) -> Int {
        WireCodec.headerSize + WireCodec.size(of: sender) + message.encodedBodySize + WireCodec.gossipCountSize
    }

    /// Decodes one packet that must fill `bytes` exactly.
    ///
    /// Never traps and allocates at most a constant factor of `bytes.count`.
    /// - Throws: a `WireError` saying why the bytes are not a packet this version reads.
    public init(decoding bytes: [UInt8]) throws(WireError) {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(WireError) -> Packet in try Packet(decoding: raw) }
        }
        self = try result.get()
    }

    /// Decodes one packet that must fill `bytes` exactly.
    public init(decoding bytes: ArraySlice<UInt8>) throws(WireError) {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(WireError) -> Packet in try Packet(decoding: raw) }
        }
        self = try result.get()
    }

    /// Decodes one packet that must fill `bytes` exactly (for callers holding a
    /// borrowed buffer, such as NIO's `ByteBuffer.withUnsafeReadableBytes`).
    public init(decoding bytes: UnsafeRawBufferPointer) throws(WireError) {
        var reader = WireReader(bytes)
        self = try reader.readPacket()
        try reader.expectEnd()
    }

    /// Checks that the packet encodes faithfully: every string fits in
    /// `WireCodec.maxStringBytes` UTF-8 bytes, every member has at most
    /// `WireCodec.maxTagCount` tags, and every list fits its count.
    /// - Throws: `.stringTooLong`, `.tooManyTags` or `.tooManyEntries`.
    public func validateForWire() throws(WireError) {
        try WireCodec.validate(self.sender)
        try self.message.validateForWire()
        guard self.gossip.count <= WireCodec.maxGossipCount else { throw .tooManyEntries }
        for update in self.gossip {
            try update.validateForWire()
        }
    }
}

extension WireWriter {
    fileprivate mutating func write(_ packet: Packet) {
        self.writeUInt8(WireCodec.currentVersion)
        self.writeUInt8(packet.message.wireType.rawValue)
        self.writeString(packet.sender)
        self.writeBody(of: packet.message)
        let gossip = packet.gossip.prefix(WireCodec.maxGossipCount)
        self.writeUInt16(UInt16(truncatingIfNeeded: gossip.count))
        for update in gossip {
            self.write(update)
        }
    }
}

extension WireReader {
    fileprivate mutating func readPacket() throws(WireError) -> Packet {
        guard WireCodec.supportedVersions.contains(try self.readUInt8()) else { throw .unsupportedVersion }
        guard let type = WireCodec.MessageType(rawValue: try self.readUInt8()) else {
            throw .unknownMessageType
        }
        let sender = try self.readString()
        let message = try self.readMessageBody(type)
        let count = try self.readCount(
            UInt16.self, limit: WireCodec.maxGossipCount, minimumElementSize: WireCodec.minimumUpdateSize)
        var gossip: [Update] = []
        gossip.reserveCapacity(count)
        for _ in 0..<count {
            gossip.append(try self.readUpdate())
        }
        return Packet(sender: sender, message: message, gossip: gossip)
    }
}

// MARK: - Message

extension Message {
    fileprivate var wireType: WireCodec.MessageType {
        switch self {
        case .ping: .ping
        case .ack: .ack
        case .pingReq: .pingReq
        case .nack: .nack
        case .sync: .sync
        case .gossip: .gossip
        case .election(.voteRequest): .voteRequest
        case .election(.voteReply): .voteReply
        case .election(.heartbeat): .heartbeat
        case .election(.heartbeatAck): .heartbeatAck
        case .election(.preVoteRequest): .preVoteRequest
        case .election(.preVoteReply): .preVoteReply
        }
    }

    /// Bytes of the body alone (after the sender).
    fileprivate var encodedBodySize: Int {
        switch self {
        case .ping(_, let target):
            4 + WireCodec.size(of: target)
        case .ack, .nack:
            4
        case .pingReq(_, let target, let address):
            4 + WireCodec.size(of: target) + address.encodedSize
        case .sync(let sync):
            sync.encodedSize
        case .gossip:
            0
        case .election(.voteRequest), .election(.preVoteRequest):
            8 + 8 + 4
        case .election(.voteReply), .election(.preVoteReply):
            8 + 1
        case .election(.heartbeat), .election(.heartbeatAck):
            8 + 4
        }
    }

    fileprivate func validateForWire() throws(WireError) {
        switch self {
        case .ping(_, let target):
            try WireCodec.validate(target)
        case .ack, .nack, .gossip, .election:
            break
        case .pingReq(_, let target, let address):
            try WireCodec.validate(target)
            try WireCodec.validate(address.host)
        case .sync(let sync):
            guard let state = sync.state else { return }
            guard state.members.count <= WireCodec.maxStateEntries,
                state.votes.count <= WireCodec.maxStateEntries,
                state.departures.count <= WireCodec.maxStateEntries,
                state.removals.count <= WireCodec.maxStateEntries
            else {
                throw .tooManyEntries
            }
            for member in state.members {
                try member.validateForWire()
            }
            for vote in state.votes {
                try WireCodec.validate(vote.subject)
                try WireCodec.validate(vote.observer)
            }
            for departure in state.departures {
                try WireCodec.validate(departure.name)
            }
            for removal in state.removals {
                try WireCodec.validate(removal.name)
                try WireCodec.validate(removal.issuer)
            }
            guard state.keyReports.count <= WireCodec.maxStateEntries else { throw .tooManyEntries }
            if let record = state.keyring {
                try record.validateForWire()
            }
            for report in state.keyReports {
                try report.validateForWire()
            }
        }
    }
}

extension WireWriter {
    fileprivate mutating func writeBody(of message: Message) {
        switch message {
        case .ping(let seq, let target):
            self.writeUInt32(seq)
            self.writeString(target)
        case .ack(let seq), .nack(let seq):
            self.writeUInt32(seq)
        case .pingReq(let seq, let target, let address):
            self.writeUInt32(seq)
            self.writeString(target)
            self.write(address)
        case .sync(let sync):
            self.write(sync)
        case .gossip:
            break
        case .election(.voteRequest(let term, let voters, let count)),
            .election(.preVoteRequest(let term, let voters, let count)):
            self.writeUInt64(term)
            self.writeUInt64(voters)
            self.writeUInt32(count)
        case .election(.voteReply(let term, let granted)), .election(.preVoteReply(let term, let granted)):
            self.writeUInt64(term)
            self.writeUInt8(granted ? 1 : 0)
        case .election(.heartbeat(let term, let seq)), .election(.heartbeatAck(let term, let seq)):
            self.writeUInt64(term)
            self.writeUInt32(seq)
        }
    }
}

extension WireReader {
    fileprivate mutating func readMessageBody(_ type: WireCodec.MessageType) throws(WireError) -> Message {
        switch type {
        case .ping:
            let seq = try self.readUInt32()
            return .ping(seq: seq, target: try self.readString())
        case .ack:
            return .ack(seq: try self.readUInt32())
        case .pingReq:
            let seq = try self.readUInt32()
            let target = try self.readString()
            return .pingReq(seq: seq, target: target, address: try self.readAddress())
        case .nack:
            return .nack(seq: try self.readUInt32())
        case .sync:
            return .sync(try self.readSync())
        case .gossip:
            return .gossip
        case .voteRequest:
            let term = try self.readUInt64()
            let voters = try self.readUInt64()
            return .election(.voteRequest(term: term, voters: voters, count: try self.readUInt32()))
        case .voteReply:
            let term = try self.readUInt64()
            switch try self.readUInt8() {
            case 0: return .election(.voteReply(term: term, granted: false))
            case 1: return .election(.voteReply(term: term, granted: true))
            default: throw .invalidFlags
            }
        case .heartbeat:
            let term = try self.readUInt64()
            return .election(.heartbeat(term: term, seq: try self.readUInt32()))
        case .heartbeatAck:
            let term = try self.readUInt64()
            return .election(.heartbeatAck(term: term, seq: try self.readUInt32()))
        case .preVoteRequest:
            let term = try self.readUInt64()
            let voters = try self.readUInt64()
            return .election(.preVoteRequest(term: term, voters: voters, count: try self.readUInt32()))
        case .preVoteReply:
            let term = try self.readUInt64()
            switch try self.readUInt8() {
            case 0: return .election(.preVoteReply(term: term, granted: false))
            case 1: return .election(.preVoteReply(term: term, granted: true))
            default: throw .invalidFlags
            }
        }
    }
}

// MARK: - Sync

extension Sync {
    fileprivate var encodedSize: Int {
        var size = 8 + 1
        guard let state = self.state else { return size }
        size += 4 * 4
        for member in state.members.prefix(WireCodec.maxStateEntries) {
            size += member.encodedSize
        }
        for vote in state.votes.prefix(WireCodec.maxStateEntries) {
            size += vote.encodedSize
        }
        for departure in state.departures.prefix(WireCodec.maxStateEntries) {
            size += departure.encodedSize
        }
        for removal in state.removals.prefix(WireCodec.maxStateEntries) {
            size += removal.encodedSize
        }
        if state.hasKeys {
            size += 1 + (state.keyring?.encodedSize ?? 0) + 4
            for report in state.keyReports.prefix(WireCodec.maxStateEntries) {
                size += report.encodedSize
            }
        }
        if !state.haRecords.isEmpty {
            size += 4
            for record in state.haRecords.prefix(WireCodec.maxStateEntries) {
                size += record.encodedSize
            }
        }
        return size
    }
}

extension MembershipState {
    /// Whether the keys section is written (absent, the sync encodes as it did before
    /// keyrings were gossiped).
    fileprivate var hasKeys: Bool {
        self.keyring != nil || !self.keyReports.isEmpty
    }
}

extension WireWriter {
    fileprivate mutating func write(_ sync: Sync) {
        self.writeUInt64(sync.digest)
        var flags: UInt8 = sync.replyWanted ? WireCodec.syncReplyWanted : 0
        if let state = sync.state {
            flags |= WireCodec.syncHasState
            if state.hasKeys { flags |= WireCodec.syncHasKeys }
            if !state.haRecords.isEmpty { flags |= WireCodec.syncHasHA }
        }
        self.writeUInt8(flags)
        guard let state = sync.state else { return }
        let members = state.members.prefix(WireCodec.maxStateEntries)
        self.writeUInt32(UInt32(truncatingIfNeeded: members.count))
        for member in members {
            self.write(member)
        }
        let votes = state.votes.prefix(WireCodec.maxStateEntries)
        self.writeUInt32(UInt32(truncatingIfNeeded: votes.count))
        for vote in votes {
            self.write(vote)
        }
        let departures = state.departures.prefix(WireCodec.maxStateEntries)
        self.writeUInt32(UInt32(truncatingIfNeeded: departures.count))
        for departure in departures {
            self.write(departure)
        }
        let removals = state.removals.prefix(WireCodec.maxStateEntries)
        self.writeUInt32(UInt32(truncatingIfNeeded: removals.count))
        for removal in removals {
            self.write(removal)
        }
        if state.hasKeys {
            if let record = state.keyring {
                self.writeUInt8(1)
                self.write(record)
            } else {
                self.writeUInt8(0)
            }
            let reports = state.keyReports.prefix(WireCodec.maxStateEntries)
            self.writeUInt32(UInt32(truncatingIfNeeded: reports.count))
            for report in reports {
                self.write(report)
            }
        }
        if !state.haRecords.isEmpty {
            let records = state.haRecords.prefix(WireCodec.maxStateEntries)
            self.writeUInt32(UInt32(truncatingIfNeeded: records.count))
            for record in records {
                self.write(record)
            }
        }
    }
}

extension WireReader {
    fileprivate mutating func readSync() throws(WireError) -> Sync {
        let digest = try self.readUInt64()
        let flags = try self.readUInt8()
        let known = WireCodec.syncReplyWanted | WireCodec.syncHasState | WireCodec.syncHasKeys | WireCodec.syncHasHA
        guard flags & ~known == 0 else {
            throw .invalidFlags
        }
        let replyWanted = flags & WireCodec.syncReplyWanted != 0
        guard flags & WireCodec.syncHasState != 0 else {
            // Keys ride only inside a state.
            guard flags & (WireCodec.syncHasKeys | WireCodec.syncHasHA) == 0 else { throw .invalidFlags }
            return Sync(digest: digest, replyWanted: replyWanted, state: nil)
        }

        let memberCount = try self.readCount(
            UInt32.self, limit: WireCodec.maxStateEntries, minimumElementSize: WireCodec.minimumMemberSize)
        var members: [Member] = []
        members.reserveCapacity(memberCount)
        for _ in 0..<memberCount {
            members.append(try self.readMember())
        }

        let voteCount = try self.readCount(
            UInt32.self, limit: WireCodec.maxStateEntries, minimumElementSize: WireCodec.minimumVoteSize)
        var votes: [Vote] = []
        votes.reserveCapacity(voteCount)
        for _ in 0..<voteCount {
            votes.append(try self.readVote())
        }

        let departureCount = try self.readCount(
            UInt32.self, limit: WireCodec.maxStateEntries, minimumElementSize: WireCodec.minimumDepartureSize)
        var departures: [Departure] = []
        departures.reserveCapacity(departureCount)
        for _ in 0..<departureCount {
            departures.append(try self.readDeparture())
        }

        let removalCount = try self.readCount(
            UInt32.self, limit: WireCodec.maxStateEntries, minimumElementSize: WireCodec.minimumRemovalSize)
        var removals: [Removal] = []
        removals.reserveCapacity(removalCount)
        for _ in 0..<removalCount {
            removals.append(try self.readRemoval())
        }

        var state = MembershipState(members: members, votes: votes, departures: departures, removals: removals)
        if flags & WireCodec.syncHasKeys != 0 {
            let recordCount = try self.readCount(UInt8.self, limit: 1, minimumElementSize: WireCodec.minimumKeyringSize)
            if recordCount == 1 {
                state.keyring = try self.readKeyringRecord()
            }
            let reportCount = try self.readCount(
                UInt32.self, limit: WireCodec.maxStateEntries, minimumElementSize: WireCodec.minimumKeyReportSize)
            state.keyReports.reserveCapacity(reportCount)
            for _ in 0..<reportCount {
                state.keyReports.append(try self.readKeyReport())
            }
        }
        if flags & WireCodec.syncHasHA != 0 {
            let count = try self.readCount(
                UInt32.self, limit: WireCodec.maxStateEntries, minimumElementSize: WireCodec.minimumHARecordSize)
            state.haRecords.reserveCapacity(count)
            for _ in 0..<count {
                state.haRecords.append(try self.readHARecord())
            }
        }
        return Sync(digest: digest, replyWanted: replyWanted, state: state)
    }
}

// MARK: - Update

extension Update {
    /// The bytes this update adds to a packet's gossip list (its type byte included).
    /// See `Packet.encodedOverhead(sender:message:)` for packing under an MTU.
    public var encodedSize: Int {
        switch self {
        case .alive(let member):
            1 + member.encodedSize
        case .suspect(let suspicion):
            1 + WireCodec.size(of: suspicion.subject) + 8 + WireCodec.size(of: suspicion.observer)
        case .vote(let vote):
            1 + vote.encodedSize
        case .left(let departure):
            1 + departure.encodedSize
        case .failed(let certificate):
            1 + WireCodec.size(of: certificate.subject) + 8 + 1
                + certificate.votes.prefix(WireCodec.maxCertificateVotes).reduce(0) {
                    $0 + WireCodec.size(of: $1.observer) + Signature.byteCount
                }
        case .removed(let removal):
            1 + removal.encodedSize
        case .keyring(let record):
            1 + record.encodedSize
        case .keyReport(let report):
            1 + report.encodedSize
        case .ha(let record):
            1 + record.encodedSize
        }
    }

    fileprivate var wireType: WireCodec.UpdateType {
        switch self {
        case .alive: .alive
        case .suspect: .suspect
        case .vote: .vote
        case .left: .left
        case .failed: .failed
        case .removed: .removed
        case .keyring: .keyring
        case .keyReport: .keyReport
        case .ha: .ha
        }
    }

    fileprivate func validateForWire() throws(WireError) {
        switch self {
        case .alive(let member):
            try member.validateForWire()
        case .suspect(let suspicion):
            try WireCodec.validate(suspicion.subject)
            try WireCodec.validate(suspicion.observer)
        case .vote(let vote):
            try WireCodec.validate(vote.subject)
            try WireCodec.validate(vote.observer)
        case .left(let departure):
            try WireCodec.validate(departure.name)
        case .failed(let certificate):
            try WireCodec.validate(certificate.subject)
            guard certificate.votes.count <= WireCodec.maxCertificateVotes else { throw .tooManyEntries }
            for vote in certificate.votes {
                try WireCodec.validate(vote.observer)
            }
        case .removed(let removal):
            try WireCodec.validate(removal.name)
            try WireCodec.validate(removal.issuer)
        case .keyring(let record):
            try record.validateForWire()
        case .keyReport(let report):
            try report.validateForWire()
        case .ha(let record):
            try WireCodec.validate(record.node)
            try WireCodec.validate(record.leader)
            try WireCodec.validate(record.detail)
        }
    }
}

extension WireWriter {
    fileprivate mutating func write(_ update: Update) {
        self.writeUInt8(update.wireType.rawValue)
        switch update {
        case .alive(let member):
            self.write(member)
        case .suspect(let suspicion):
            self.writeString(suspicion.subject)
            self.writeUInt64(suspicion.incarnation)
            self.writeString(suspicion.observer)
        case .vote(let vote):
            self.write(vote)
        case .left(let departure):
            self.write(departure)
        case .failed(let certificate):
            // Votes share the subject and incarnation; a vote for another one cannot be
            // part of this certificate, so it is not written.
            self.writeString(certificate.subject)
            self.writeUInt64(certificate.incarnation)
            let votes = certificate.votes.prefix(WireCodec.maxCertificateVotes)
            self.writeUInt8(UInt8(votes.count))
            for vote in votes {
                self.writeString(vote.observer)
                self.writeBytes(vote.signature.bytes)
            }
        case .removed(let removal):
            self.write(removal)
        case .keyring(let record):
            self.write(record)
        case .keyReport(let report):
            self.write(report)
        case .ha(let record):
            self.write(record)
        }
    }
}

extension WireReader {
    fileprivate mutating func readUpdate() throws(WireError) -> Update {
        guard let type = WireCodec.UpdateType(rawValue: try self.readUInt8()) else { throw .unknownUpdateType }
        switch type {
        case .alive:
            return .alive(try self.readMember())
        case .suspect:
            let subject = try self.readString()
            let incarnation = try self.readUInt64()
            let observer = try self.readString()
            return .suspect(Suspicion(subject: subject, incarnation: incarnation, observer: observer))
        case .vote:
            return .vote(try self.readVote())
        case .left:
            return .left(try self.readDeparture())
        case .failed:
            let subject = try self.readString()
            let incarnation = try self.readUInt64()
            let count = Int(try self.readUInt8())
            guard count <= WireCodec.maxCertificateVotes, count * (1 + Signature.byteCount) <= self.remaining else {
                throw .lengthOutOfBounds
            }
            var votes: [Vote] = []
            votes.reserveCapacity(count)
            for _ in 0..<count {
                let observer = try self.readString()
                votes.append(
                    Vote(subject: subject, incarnation: incarnation, observer: observer, signature: try self.readSignature()))
            }
            return .failed(FailureCertificate(subject: subject, incarnation: incarnation, votes: votes))
        case .removed:
            return .removed(try self.readRemoval())
        case .keyring:
            return .keyring(try self.readKeyringRecord())
        case .keyReport:
            return .keyReport(try self.readKeyReport())
        case .ha:
            return .ha(try self.readHARecord())
        }
    }
}

// MARK: - Keyring record and key report

extension KeyringRecord {
    /// Checks that the record encodes faithfully: the issuer fits in
    /// `WireCodec.maxStringBytes` and the payload in `WireCodec.maxKeyringPayloadBytes`.
    /// - Throws: `.stringTooLong` or `.payloadTooLong`.
    public func validateForWire() throws(WireError) {
        try WireCodec.validate(self.issuer)
        guard self.payload.count <= WireCodec.maxKeyringPayloadBytes else { throw .payloadTooLong }
    }

    fileprivate var encodedSize: Int {
        8 + WireCodec.size(of: self.issuer) + 2 + min(self.payload.count, WireCodec.maxKeyringPayloadBytes)
            + Signature.byteCount
    }
}

extension KeyReport {
    fileprivate func validateForWire() throws(WireError) {
        try WireCodec.validate(self.member)
        guard self.installed.count <= WireCodec.maxReportedKeys else { throw .tooManyEntries }
    }

    fileprivate var encodedSize: Int {
        WireCodec.size(of: self.member) + 8 + 4 + 1 + 4 * min(self.installed.count, WireCodec.maxReportedKeys)
    }
}

extension WireWriter {
    fileprivate mutating func write(_ record: KeyringRecord) {
        self.writeUInt64(record.version)
        self.writeString(record.issuer)
        // Clamped like every other field; `validateForWire()` reports it first.
        let payload = record.payload.prefix(WireCodec.maxKeyringPayloadBytes)
        self.writeUInt16(UInt16(payload.count))
        self.writeBytes(Array(payload))
        self.writeBytes(record.signature.bytes)
    }

    fileprivate mutating func write(_ report: KeyReport) {
        self.writeString(report.member)
        self.writeUInt64(report.sequence)
        self.writeUInt32(report.primary)
        let installed = report.installed.prefix(WireCodec.maxReportedKeys)
        self.writeUInt8(UInt8(installed.count))
        for id in installed {
            self.writeUInt32(id)
        }
    }
}

extension WireReader {
    fileprivate mutating func readKeyringRecord() throws(WireError) -> KeyringRecord {
        let version = try self.readUInt64()
        let issuer = try self.readString()
        let length = Int(try self.readUInt16())
        // Checked before reading (and allocating) the payload.
        guard length <= WireCodec.maxKeyringPayloadBytes else { throw .lengthOutOfBounds }
        let payload = try self.readBytes(length)
        return KeyringRecord(version: version, issuer: issuer, payload: payload, signature: try self.readSignature())
    }

    fileprivate mutating func readKeyReport() throws(WireError) -> KeyReport {
        let member = try self.readString()
        let sequence = try self.readUInt64()
        let primary = try self.readUInt32()
        let count = try self.readCount(UInt8.self, limit: WireCodec.maxReportedKeys, minimumElementSize: 4)
        var installed: [UInt32] = []
        installed.reserveCapacity(count)
        for _ in 0..<count {
            installed.append(try self.readUInt32())
        }
        return KeyReport(member: member, sequence: sequence, primary: primary, installed: installed)
    }
}

// MARK: - Member

extension Member {
    /// Checks that the member encodes faithfully: name, host, tag keys and values fit
    /// in `WireCodec.maxStringBytes` UTF-8 bytes and there are at most
    /// `WireCodec.maxTagCount` tags. Run it on a node's own configuration at start.
    /// - Throws: `.stringTooLong` or `.tooManyTags`.
    public func validateForWire() throws(WireError) {
        try WireCodec.validate(self.name)
        try WireCodec.validate(self.address.host)
        guard self.tags.count <= WireCodec.maxTagCount else { throw .tooManyTags }
        for (key, value) in self.tags {
            try WireCodec.validate(key)
            try WireCodec.validate(value)
        }
    }

    fileprivate var encodedSize: Int {
        var size = WireCodec.size(of: self.name) + self.address.encodedSize + 8 + 1 + 1 + PublicKey.byteCount
        if self.tags.count <= WireCodec.maxTagCount {
            for (key, value) in self.tags {
                size += WireCodec.size(of: key) + WireCodec.size(of: value)
            }
        } else {
            for (key, value) in WireCodec.orderedTags(self.tags) {
                size += WireCodec.size(of: key) + WireCodec.size(of: value)
            }
        }
        return size
    }
}

extension WireWriter {
    fileprivate mutating func write(_ member: Member) {
        self.writeString(member.name)
        self.write(member.address)
        self.writeUInt64(member.incarnation)
        self.writeUInt8(member.status.rawValue)
        switch member.tags.count {
        case 0:
            self.writeUInt8(0)
        case 1:
            // One tag needs no sorting (and no temporary array).
            self.writeUInt8(1)
            for (key, value) in member.tags {
                self.writeString(key)
                self.writeString(value)
            }
        default:
            let tags = WireCodec.orderedTags(member.tags)
            self.writeUInt8(UInt8(truncatingIfNeeded: tags.count))
            for (key, value) in tags {
                self.writeString(key)
                self.writeString(value)
            }
        }
        // `PublicKey` guarantees exactly `PublicKey.byteCount` bytes.
        self.writeBytes(member.identityKey.bytes)
    }
}

extension WireReader {
    fileprivate mutating func readMember() throws(WireError) -> Member {
        let name = try self.readString()
        let address = try self.readAddress()
        let incarnation = try self.readUInt64()
        guard let status = MemberStatus(rawValue: try self.readUInt8()) else { throw .unknownMemberStatus }
        let tagCount = try self.readCount(
            UInt8.self, limit: WireCodec.maxTagCount, minimumElementSize: WireCodec.minimumTagSize)
        var tags: [String: String] = [:]
        if tagCount > 0 {
            tags.reserveCapacity(tagCount)
            for _ in 0..<tagCount {
                let key = try self.readString()
                let value = try self.readString()
                guard tags.updateValue(value, forKey: key) == nil else { throw .duplicateTag }
            }
        }
        guard let identityKey = PublicKey(bytes: try self.readBytes(PublicKey.byteCount)) else {
            throw .invalidKey
        }
        return Member(
            name: name, address: address, incarnation: incarnation, status: status, tags: tags,
            identityKey: identityKey)
    }
}

// MARK: - Address

extension Address {
    fileprivate var encodedSize: Int {
        WireCodec.size(of: self.host) + 2
    }
}

extension WireWriter {
    fileprivate mutating func write(_ address: Address) {
        self.writeString(address.host)
        self.writeUInt16(address.port)
    }
}

extension WireReader {
    fileprivate mutating func readAddress() throws(WireError) -> Address {
        let host = try self.readString()
        return Address(host: host, port: try self.readUInt16())
    }
}

// MARK: - Vote, Departure and Removal

extension Vote {
    fileprivate var encodedSize: Int {
        WireCodec.size(of: self.subject) + 8 + WireCodec.size(of: self.observer) + Signature.byteCount
    }
}

extension Departure {
    fileprivate var encodedSize: Int {
        WireCodec.size(of: self.name) + 8 + Signature.byteCount
    }
}

extension Removal {
    fileprivate var encodedSize: Int {
        WireCodec.size(of: self.name) + 8 + WireCodec.size(of: self.issuer) + Signature.byteCount
    }
}

extension WireWriter {
    fileprivate mutating func write(_ vote: Vote) {
        self.writeString(vote.subject)
        self.writeUInt64(vote.incarnation)
        self.writeString(vote.observer)
        // `Signature` guarantees exactly `Signature.byteCount` bytes.
        self.writeBytes(vote.signature.bytes)
    }

    fileprivate mutating func write(_ departure: Departure) {
        self.writeString(departure.name)
        self.writeUInt64(departure.incarnation)
        self.writeBytes(departure.signature.bytes)
    }

    fileprivate mutating func write(_ removal: Removal) {
        self.writeString(removal.name)
        self.writeUInt64(removal.incarnation)
        self.writeString(removal.issuer)
        self.writeBytes(removal.signature.bytes)
    }
}

extension WireReader {
    fileprivate mutating func readVote() throws(WireError) -> Vote {
        let subject = try self.readString()
        let incarnation = try self.readUInt64()
        let observer = try self.readString()
        return Vote(subject: subject, incarnation: incarnation, observer: observer, signature: try self.readSignature())
    }

    fileprivate mutating func readDeparture() throws(WireError) -> Departure {
        let name = try self.readString()
        let incarnation = try self.readUInt64()
        return Departure(name: name, incarnation: incarnation, signature: try self.readSignature())
    }

    fileprivate mutating func readRemoval() throws(WireError) -> Removal {
        let name = try self.readString()
        let incarnation = try self.readUInt64()
        let issuer = try self.readString()
        return Removal(name: name, incarnation: incarnation, issuer: issuer, signature: try self.readSignature())
    }

    fileprivate mutating func readSignature() throws(WireError) -> Signature {
        guard let signature = Signature(bytes: try self.readBytes(Signature.byteCount)) else {
            throw .invalidSignature
        }
        return signature
    }
}

// MARK: - HA record

extension HARecord {
    fileprivate var encodedSize: Int {
        WireCodec.size(of: self.node) + 4 + 8 + 4 + 1 + WireCodec.size(of: self.leader) + 2
            + WireCodec.size(of: self.detail) + Signature.byteCount
    }
}

extension WireWriter {
    fileprivate mutating func write(_ record: HARecord) {
        self.writeString(record.node)
        self.writeUInt32(record.life)
        self.writeUInt64(record.term)
        self.writeUInt32(record.sequence)
        self.writeUInt8(record.phase.rawValue)
        self.writeString(record.leader)
        self.writeUInt16(record.attempts)
        self.writeString(record.detail)
        self.writeBytes(record.signature.bytes)
    }
}

extension WireReader {
    fileprivate mutating func readHARecord() throws(WireError) -> HARecord {
        let node = try self.readString()
        let life = try self.readUInt32()
        let term = try self.readUInt64()
        let sequence = try self.readUInt32()
        guard let phase = HAPhase(rawValue: try self.readUInt8()) else { throw .unknownMemberStatus }
        let leader = try self.readString()
        let attempts = try self.readUInt16()
        let detail = try self.readString()
        guard let signature = Signature(bytes: try self.readBytes(Signature.byteCount)) else {
            throw .invalidSignature
        }
        return HARecord(
            node: node, life: life, term: term, sequence: sequence, phase: phase, leader: leader, attempts: attempts,
            detail: detail, signature: signature)
    }
}
