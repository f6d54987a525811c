import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing
import VigilCore
import VigilCrypto

@testable import VigilAgent

// MARK: - Fixtures

private func clusterKey(_ byte: UInt8) -> ClusterKey {
    ClusterKey(bytes: [UInt8](repeating: byte, count: ClusterKey.byteCount))!
}

private let keyA = clusterKey(0xA1)
private let keyB = clusterKey(0xB2)

private let ping = Packet(sender: "node-a", message: .ping(seq: 7, target: "node-b"))
private let advertisedA = Address(host: "10.0.0.1", port: 7946)

/// A wall clock the test moves by hand (ms since the Unix epoch).
private final class TestClock: Sendable {
    private let ms: Mutex<UInt64>

    init(_ ms: UInt64 = 1_700_000_000_000) {
        self.ms = Mutex(ms)
    }

    var now: UInt64 {
        self.ms.withLock { $0 }
    }

    func advance(by ms: Int64) {
        self.ms.withLock { $0 = UInt64(Int64($0) + ms) }
    }

    var read: @Sendable () -> UInt64 {
        { self.now }
    }
}

private func sealer(_ keyring: Keyring, clock: TestClock, replayCapacity: Int = 1024) -> EnvelopeSealer {
    EnvelopeSealer(keyring: keyring, replayCapacity: replayCapacity, clock: clock.read)
}

/// A sync packet whose full state encodes to more than `bytes` bytes.
private func largeSync(atLeast bytes: Int) -> Packet {
    let identity = SigningKey(seed: [UInt8](repeating: 7, count: SigningKey.seedByteCount))!.publicKey
    var members: [Member] = []
    var packet = Packet(sender: "node-a", message: .gossip)
    var index = 0
    while packet.encodedSize < bytes {
        for _ in 0..<500 {
            members.append(
                Member(
                    name: "compute-\(index)",
                    address: Address(host: "10.\(index / 65536 % 256).\(index / 256 % 256).\(index % 256)", port: 7946),
                    incarnation: UInt64(index), status: .alive, tags: ["zone": "az-\(index % 3)"],
                    identityKey: identity))
            index += 1
        }
        packet.message = .sync(Sync(digest: 42, replyWanted: true, state: MembershipState(members: members)))
    }
    return packet
}

private func flipped(_ bytes: [UInt8], at index: Int) -> [UInt8] {
    var bytes = bytes
    bytes[index] ^= 0x01
    return bytes
}

private let testLogger = Logger(label: "vigil.test.transport")

private func loopback(advertise: Address? = nil) -> TransportSettings {
    TransportSettings(bind: Address(host: "127.0.0.1", port: 0), advertise: advertise)
}

/// Runs `body`; if it has not finished within `limit`, closes `transports`, which
/// ends their event streams so that a test waiting for an event fails instead of
/// hanging. Not a timing assertion: the limit is generous.
private func withWatchdog<T>(
    _ transports: [GossipTransport], limit: Duration = .seconds(30), _ body: () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            do {
                try await Task.sleep(for: limit)
            } catch {
                return  // cancelled: the body finished
            }
            for transport in transports {
                await transport.close()
            }
        }
        defer { group.cancelAll() }
        return try await body()
    }
}

/// Whether this host lets a socket's receive buffer be `bytes` (`net.core.rmem_max`).
private func receiveBufferMayGrow(to bytes: Int) -> Bool {
    guard let text = try? String(contentsOfFile: "/proc/sys/net/core/rmem_max", encoding: .utf8),
        let max = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
    else { return false }
    return max >= bytes
}

// MARK: - Envelope, without sockets

@Suite struct TransportTests {
    @Test func envelopeRoundTripKeepsPacketAndAdvertisedAddress() throws {
        let clock = TestClock()
        let keyring = Keyring(primary: keyA)
        let sealed = sealer(keyring, clock: clock).seal(ping, advertised: advertisedA)
        #expect(sealed.count == Keyring.overhead + SealedEnvelope.fixedPlaintextBytes + 8 + ping.encodedSize)

        let opened = try sealer(keyring, clock: clock).open(sealed, maxBytes: 64 << 10)
        #expect(opened.packet == ping)
        #expect(opened.advertised == advertisedA)
    }

    /// A packet of `size` encoded bytes: suspicions, the last one padded to fit.
    static func packet(encodedSize size: Int) -> Packet {
        func suspicion(_ i: Int, pad: Int) -> Update {
            .suspect(Suspicion(subject: String(repeating: "s", count: pad), incarnation: 1, observer: "o\(i)"))
        }
        var packet = Packet(sender: "n1", message: .gossip)
        while packet.encodedSize + 100 < size { packet.gossip.append(suspicion(packet.gossip.count, pad: 40)) }
        var pad = 40
        while packet.encodedSize < size {
            pad += 1
            packet.gossip[packet.gossip.count - 1] = suspicion(packet.gossip.count - 1, pad: pad)
        }
        return packet
    }

    @Test func aPacketFilledToTheEnginesBudgetStaysWithinTheMTUOnceSealed() throws {
        let clock = TestClock()
        let keyring = Keyring(primary: keyA)
        let longHost = Address(host: String(repeating: "h", count: 255), port: 7946)
        let mtu = Configuration.lan.gossip.mtu
        for advertised in [advertisedA, longHost] {
            let configuration = Configuration.lan.reservingEnvelope(advertisedHost: advertised.host)
            // The engine fills a datagram up to `mtu - sealOverhead` bytes of packet.
            let packet = Self.packet(encodedSize: mtu - configuration.gossip.sealOverhead)
            #expect(packet.encodedSize == mtu - configuration.gossip.sealOverhead)
            let sealed = sealer(keyring, clock: clock).seal(packet, advertised: advertised)
            #expect(sealed.count == mtu, "advertising \(advertised.host.utf8.count) bytes of host")
        }
        // The presets' 48 bytes alone: a full packet from the long host is 264 bytes over.
        let unreserved = Self.packet(encodedSize: mtu - Configuration.lan.gossip.sealOverhead)
        let sealed = sealer(keyring, clock: clock).seal(unreserved, advertised: longHost)
        #expect(sealed.count == mtu + Keyring.overhead + SealedEnvelope.fixedPlaintextBytes + 255 - 48)
    }

    @Test func envelopePlaintextLayout() throws {
        let envelope = SealedEnvelope(
            packet: ping, advertised: Address(host: "h1", port: 0x1F9A), timestamp: 0x0102_0304_0506_0708)
        let plaintext = envelope.plaintext()
        #expect(
            Array(plaintext.prefix(14)) == [
                1, 1, 2, 3, 4, 5, 6, 7, 8, 2, UInt8(ascii: "h"), UInt8(ascii: "1"), 0x1F, 0x9A,
            ])
        #expect(Array(plaintext.dropFirst(14)) == ping.encoded())
        #expect(try SealedEnvelope(plaintext: plaintext) == envelope)
        // The nonce the replay cache keys on is where the keyring writes it.
        #expect(Keyring.overhead == SealedEnvelope.nonceRange.upperBound + 16)
    }

    @Test func tamperedByteIsBadSeal() throws {
        let clock = TestClock()
        let keyring = Keyring(primary: keyA)
        let sealed = sealer(keyring, clock: clock).seal(ping, advertised: advertisedA)
        let receiver = sealer(keyring, clock: clock)
        // Header, nonce, ciphertext and tag: every part is authenticated.
        for index in [1, 4, 5, 28, 29, sealed.count / 2, sealed.count - 1] {
            #expect(
                throws: EnvelopeError.badSeal(
                    index < 5 ? .unknownKey(keyA.id ^ (1 << (8 * UInt32(4 - index)))) : .authenticationFailed)
            ) {
                try receiver.open(flipped(sealed, at: index), maxBytes: 64 << 10)
            }
        }
        #expect(throws: EnvelopeError.badSeal(.unsupportedVersion)) {
            try receiver.open(flipped(sealed, at: 0), maxBytes: 64 << 10)
        }
        // Nothing that failed was remembered: the genuine packet still opens.
        #expect(try receiver.open(sealed, maxBytes: 64 << 10).packet == ping)
    }

    @Test func packetSealedUnderAnotherKeyIsBadSeal() {
        let clock = TestClock()
        let sealed = sealer(Keyring(primary: keyB), clock: clock).seal(ping, advertised: advertisedA)
        #expect(throws: EnvelopeError.badSeal(.unknownKey(keyB.id))) {
            try sealer(Keyring(primary: keyA), clock: clock).open(sealed, maxBytes: 64 << 10)
        }
    }

    @Test func replayedBytesAreDroppedAsReplay() throws {
        let clock = TestClock()
        let keyring = Keyring(primary: keyA)
        let sealed = sealer(keyring, clock: clock).seal(ping, advertised: advertisedA)
        let receiver = sealer(keyring, clock: clock)
        _ = try receiver.open(sealed, maxBytes: 64 << 10)
        clock.advance(by: 29_000)
        #expect(throws: EnvelopeError.replay) { try receiver.open(sealed, maxBytes: 64 << 10) }
        // Once outside the window, the timestamp alone refuses it.
        clock.advance(by: 2_000)
        #expect(throws: EnvelopeError.stale) { try receiver.open(sealed, maxBytes: 64 << 10) }
    }

    @Test func timestampOutsideFreshnessWindowIsStale() throws {
        let senderClock = TestClock()
        let keyring = Keyring(primary: keyA)
        let sender = sealer(keyring, clock: senderClock)
        for (skew, fresh) in [
            (30_000, true), (-30_000, true), (30_001, false), (-30_001, false), (-1_700_000_000_000, false),
        ] {
            let receiverClock = TestClock(UInt64(Int64(senderClock.now) + Int64(skew)))
            let sealed = sender.seal(ping, advertised: advertisedA)
            let receiver = sealer(keyring, clock: receiverClock)
            if fresh {
                #expect(try receiver.open(sealed, maxBytes: 64 << 10).packet == ping, "skew \(skew) ms")
            } else {
                #expect(throws: EnvelopeError.stale, "skew \(skew) ms") {
                    try receiver.open(sealed, maxBytes: 64 << 10)
                }
            }
        }
        // A timestamp near UInt64.max must not overflow the window arithmetic.
        let farFuture = SealedEnvelope(packet: ping, advertised: advertisedA, timestamp: .max).sealed(with: keyring)
        #expect(throws: EnvelopeError.stale) {
            try sealer(keyring, clock: senderClock).open(farFuture, maxBytes: 1 << 10)
        }
    }

    @Test func truncatedOversizeAndMalformedInputsGetTheirReason() throws {
        let clock = TestClock()
        let keyring = Keyring(primary: keyA)
        let receiver = sealer(keyring, clock: clock)
        let sealed = sealer(keyring, clock: clock).seal(ping, advertised: advertisedA)

        #expect(throws: EnvelopeError.badSeal(.truncated)) { try receiver.open([], maxBytes: 1024) }
        #expect(throws: EnvelopeError.badSeal(.truncated)) {
            try receiver.open(Array(sealed.prefix(Keyring.overhead - 1)), maxBytes: 1024)
        }
        #expect(throws: EnvelopeError.badSeal(.authenticationFailed)) {
            try receiver.open(Array(sealed.dropLast()), maxBytes: 1024)
        }
        #expect(throws: EnvelopeError.oversize) { try receiver.open(sealed, maxBytes: sealed.count - 1) }

        // Sealed with the right key but not an envelope, or not a packet inside.
        #expect(throws: EnvelopeError.malformed(nil)) { try receiver.open(keyring.seal([1, 2, 3]), maxBytes: 1024) }
        var badPacket = SealedEnvelope(packet: ping, advertised: advertisedA, timestamp: clock.now).plaintext()
        badPacket.append(0)
        #expect(throws: EnvelopeError.malformed(.trailingBytes)) {
            try receiver.open(keyring.seal(badPacket), maxBytes: 1024)
        }
        var badHost = SealedEnvelope(packet: ping, advertised: advertisedA, timestamp: clock.now).plaintext()
        badHost[10] = 0xFF  // not UTF-8
        #expect(throws: EnvelopeError.malformed(nil)) { try receiver.open(keyring.seal(badHost), maxBytes: 1024) }
    }

    @Test func receiverHoldingOldAndNewKeyOpensBoth() throws {
        let clock = TestClock()
        let oldSender = sealer(Keyring(primary: keyA), clock: clock)
        let newSender = sealer(Keyring(primary: keyB, others: [keyA]), clock: clock)
        let receiver = sealer(Keyring(primary: keyA, others: [keyB]), clock: clock)
        #expect(try receiver.open(oldSender.seal(ping, advertised: advertisedA), maxBytes: 1024).packet == ping)
        #expect(try receiver.open(newSender.seal(ping, advertised: advertisedA), maxBytes: 1024).packet == ping)

        // Rotation finished on the receiver: the old key no longer opens.
        try receiver.updateKeyring { (keyring: inout Keyring) throws(KeyringError) in
            try keyring.use(keyB)
            try keyring.remove(keyA)
        }
        #expect(receiver.keyring.primary == keyB)
        #expect(throws: EnvelopeError.badSeal(.unknownKey(keyA.id))) {
            try receiver.open(oldSender.seal(ping, advertised: advertisedA), maxBytes: 1024)
        }
        #expect(try receiver.open(newSender.seal(ping, advertised: advertisedA), maxBytes: 1024).packet == ping)
    }

    @Test func replayCacheForgetsExpiredNoncesAndEvictsOldestWhenFull() {
        func nonce(_ n: UInt8) -> Nonce { Nonce(sealed: [UInt8](repeating: n, count: 40))! }
        var cache = ReplayCache(capacity: 3)
        func insert(_ n: UInt8, expiry: UInt64, now: UInt64) -> Bool {
            cache.insert(nonce(n), expiry: expiry, now: now)
        }
        #expect(insert(1, expiry: 100, now: 0))
        #expect(insert(2, expiry: 200, now: 0))
        #expect(!insert(1, expiry: 100, now: 50))
        // Expired entries leave from the oldest end.
        #expect(insert(3, expiry: 300, now: 150))
        #expect(!cache.contains(nonce(1)) && cache.size == 2)
        #expect(insert(4, expiry: 400, now: 150))
        #expect(insert(5, expiry: 500, now: 150))
        // Full: the oldest (2) went early, which is counted.
        #expect(cache.size == 3 && !cache.contains(nonce(2)) && cache.evictedEarly == 1)
        for n: UInt8 in 3...5 {
            #expect(cache.contains(nonce(n)))
        }
        #expect(insert(6, expiry: 600, now: 450))  // wraps around the ring
        #expect(cache.size == 2 && cache.contains(nonce(5)) && cache.contains(nonce(6)))
    }

    @Test func frameDecoderNeedsWholeFrameAndRefusesTooLarge() {
        var buffer = StreamFrameDecoder.frame([9, 8, 7])
        #expect(buffer.readableBytes == 7)
        #expect(StreamFrameDecoder.parse(buffer, maxFrameBytes: 3) == .frame(length: 3))
        #expect(StreamFrameDecoder.parse(buffer, maxFrameBytes: 2) == .tooLarge(3))
        buffer.moveWriterIndex(to: 6)
        #expect(StreamFrameDecoder.parse(buffer, maxFrameBytes: 3) == .needMoreData)
        buffer.moveWriterIndex(to: 3)
        #expect(StreamFrameDecoder.parse(buffer, maxFrameBytes: 3) == .needMoreData)
        #expect(
            StreamFrameDecoder.parse(ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF]), maxFrameBytes: 16 << 20)
                == .tooLarge(.max))
    }

    /// With a receiver (the agent's runtime), every packet that opens goes to it, in
    /// order, counted once, and none waits in the stream. Many packets: the receiver
    /// must cost the same on the last as on the first (it once grew by two thunks a
    /// packet, and 100,000 packets overflowed the stack).
    @Test func aReceiverGetsEveryPacketInOrderAndTheStreamNone() async throws {
        let clock = TestClock()
        let keyring = Keyring(primary: keyA)
        let counters = TransportCounters()
        let (events, continuation) = AsyncStream.makeStream(of: TransportEvent.self)
        let gate = InboundGate(
            sealer: sealer(keyring, clock: clock, replayCapacity: 200_000), counters: counters,
            continuation: continuation, maxDatagramBytes: 1024, maxFrameBytes: 1024, logger: testLogger)
        let received = Mutex<[UInt32]>([])
        gate.deliver { event in
            guard case .packet(let packet, _, _) = event, case .ack(let seq) = packet.message else { return }
            received.withLock { $0.append(seq) }
        }
        let sender = sealer(keyring, clock: clock)
        let count: UInt32 = 100_000
        for seq in 1...count {
            let packet = Packet(sender: "node-a", message: .ack(seq: seq))
            gate.receiveDatagram(ByteBuffer(bytes: sender.seal(packet, advertised: advertisedA)), from: advertisedA)
        }
        gate.finish()
        #expect(received.withLock { $0 } == Array(1...count))
        #expect(counters.snapshot.packetsIn == UInt64(count))
        var left = 0
        for await _ in events { left += 1 }
        #expect(left == 0)
    }

    @Test func eventsBeyondTheBufferDropTheOldestAndAreCounted() async throws {
        let clock = TestClock()
        let keyring = Keyring(primary: keyA)
        let counters = TransportCounters()
        let (events, continuation) = AsyncStream.makeStream(
            of: TransportEvent.self, bufferingPolicy: .bufferingNewest(2))
        let gate = InboundGate(
            sealer: sealer(keyring, clock: clock), counters: counters, continuation: continuation,
            maxDatagramBytes: 1024, maxFrameBytes: 1024, logger: testLogger)
        let sender = sealer(keyring, clock: clock)
        for seq: UInt32 in 1...3 {
            let packet = Packet(sender: "node-a", message: .ack(seq: seq))
            gate.receiveDatagram(ByteBuffer(bytes: sender.seal(packet, advertised: advertisedA)), from: advertisedA)
        }
        gate.receiveDatagram(ByteBuffer(bytes: [UInt8](repeating: 1, count: 1025)), from: advertisedA)
        gate.finish()
        #expect(counters.snapshot.packetsIn == 3)
        #expect(counters.snapshot.dropped(.bufferFull) == 1)
        #expect(counters.snapshot.dropped(.oversize) == 1)
        let sealedSize = Keyring.overhead + SealedEnvelope.fixedPlaintextBytes + 8 + 15
        #expect(counters.snapshot.bytesIn == UInt64(3 * sealedSize + 1025))
        var kept: [TransportEvent] = []
        for await event in events {
            kept.append(event)
        }
        #expect(
            kept
                == [2, 3].map {
                    .packet(Packet(sender: "node-a", message: .ack(seq: $0)), from: advertisedA, reliable: false)
                })
    }

    // MARK: - Real sockets on loopback

    /// A burst that arrives while the agent cannot read (busy, or not scheduled) waits
    /// in the socket's receive buffer: 1,000 datagrams sent while the receiver's event
    /// loop is blocked are all delivered once it runs again. (With the kernel's usual
    /// 208 KiB buffer, most of them were dropped.)
    @Test(.enabled(if: receiveBufferMayGrow(to: TransportSettings(bind: Address(host: "127.0.0.1", port: 0)).receiveBufferBytes)))
    func aBurstWhileTheReceiverCannotReadWaitsInTheSocket() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let receiver = try await GossipTransport(
            settings: loopback(), keyring: Keyring(primary: keyA), logger: testLogger, group: group)
        let sender = try await GossipTransport(settings: loopback(), keyring: Keyring(primary: keyA), logger: testLogger)
        let count = 1_000
        let blocked = DispatchSemaphore(value: 0)
        receiver.eventLoop.execute { blocked.wait() }
        for seq in 1...count {
            sender.send(Packet(sender: "node-a", message: .ack(seq: UInt32(seq))), to: receiver.localAddress)
        }
        for _ in 0..<3_000 where sender.stats.packetsOut < count {
            try await Task.sleep(for: .milliseconds(10))
        }
        blocked.signal()
        #expect(sender.stats.packetsOut == count)
        try await withWatchdog([receiver, sender]) {
            var events = receiver.events.makeAsyncIterator()
            for _ in 1...count {
                _ = try #require(await events.next())
            }
        }
        #expect(receiver.stats.packetsIn == UInt64(count))
        await receiver.close()
        await sender.close()
        try await group.shutdownGracefully()
    }

    @Test func twoTransportsExchangeDatagramAndLargeStreamFrame() async throws {
        let a = try await GossipTransport(
            settings: loopback(advertise: Address(host: "node-a.test", port: 0)), keyring: Keyring(primary: keyA),
            logger: testLogger)
        let b = try await GossipTransport(settings: loopback(), keyring: Keyring(primary: keyA), logger: testLogger)
        #expect(
            a.localAddress.port != 0 && a.advertisedAddress == Address(host: "node-a.test", port: a.localAddress.port))
        #expect(b.advertisedAddress == b.localAddress)

        try await withWatchdog([a, b]) {
            var events = b.events.makeAsyncIterator()

            // A datagram comes from the sender's UDP socket, where an ack must go.
            a.send(ping, to: b.localAddress)
            let datagram = try #require(await events.next())
            #expect(datagram == .packet(ping, from: a.localAddress, reliable: false))

            // A stream frame names the advertised address, not the ephemeral TCP port.
            let sync = largeSync(atLeast: 200_000)
            await a.stream(sync, to: b.localAddress)
            let frame = try #require(await events.next())
            #expect(frame == .packet(sync, from: a.advertisedAddress, reliable: true))

            // And back, on the address the datagram came from.
            var aEvents = a.events.makeAsyncIterator()
            b.send(Packet(sender: "node-b", message: .ack(seq: 7)), to: a.localAddress)
            #expect(
                try #require(await aEvents.next())
                    == .packet(Packet(sender: "node-b", message: .ack(seq: 7)), from: b.localAddress, reliable: false))
        }
        let sent = a.stats
        #expect(sent.packetsOut == 2 && sent.sendFailures == 0 && sent.streamConnectFailures == 0)
        let received = b.stats
        #expect(received.packetsIn == 2 && received.bytesIn == sent.bytesOut)
        #expect(received.dropped.values.allSatisfy { $0 == 0 })
        await a.close()
        await b.close()
    }

    @Test func garbageIsDroppedAndCountedAndTheTransportKeepsWorking() async throws {
        let seed: UInt64 = 0x5EED_0001
        // One event loop for the receiver: everything it reads is handled in order,
        // so once a well-formed packet arrives, the garbage before it was counted.
        let receiverLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let receiver = try await GossipTransport(
            settings: loopback(), keyring: Keyring(primary: keyA), logger: testLogger, group: receiverLoop)
        let sender = try await GossipTransport(
            settings: loopback(), keyring: Keyring(primary: keyA), logger: testLogger)
        let raw = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let target = try SocketAddress(ipAddress: "127.0.0.1", port: Int(receiver.localAddress.port))
        func rawSend(_ bytes: [UInt8]) async throws {
            try await raw.writeAndFlush(AddressedEnvelope(remoteAddress: target, data: ByteBuffer(bytes: bytes))).get()
        }

        var rng = DeterministicRNG(seed: seed)
        let rounds = 4
        let perRound = 25
        try await withWatchdog([receiver, sender]) {
            var events = receiver.events.makeAsyncIterator()
            for round in 1...rounds {
                for _ in 0..<perRound {
                    let count = Int.random(in: 1...512, using: &rng)
                    try await rawSend((0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) })
                }
                sender.send(ping, to: receiver.localAddress)
                let event = try #require(await events.next(), "seed \(seed)")
                #expect(event == .packet(ping, from: sender.localAddress, reliable: false))
                #expect(receiver.stats.dropped(.badSeal) == UInt64(round * perRound), "seed \(seed)")
            }

            // A genuine datagram sent twice from elsewhere: the copy is a replay.
            let genuine = sender.sealer.seal(ping, advertised: sender.advertisedAddress)
            try await rawSend(genuine)
            try await rawSend(genuine)
            let rawAddress = try #require(raw.localAddress.flatMap(Address.init))
            #expect(try #require(await events.next()) == .packet(ping, from: rawAddress, reliable: false))
            sender.send(ping, to: receiver.localAddress)
            #expect(try #require(await events.next()) == .packet(ping, from: sender.localAddress, reliable: false))
        }
        let stats = receiver.stats
        #expect(stats.dropped(.badSeal) == UInt64(rounds * perRound), "seed \(seed)")
        #expect(stats.dropped(.replay) == 1)
        #expect(stats.packetsIn == UInt64(rounds + 2))
        #expect(stats.byName["dropped_bad_seal"] == UInt64(rounds * perRound))
        try await raw.close()
        await receiver.close()
        await sender.close()
        try await receiverLoop.shutdownGracefully()
    }

    @Test func burstOfDatagramsArrivesWholeAndInOrder() async throws {
        // Sent from a task off the event loop in one go, so the datagrams queue up
        // and are written together, and read several per `recvmmsg`.
        let a = try await GossipTransport(settings: loopback(), keyring: Keyring(primary: keyA), logger: testLogger)
        let b = try await GossipTransport(settings: loopback(), keyring: Keyring(primary: keyA), logger: testLogger)
        // Well inside the default socket buffer (about 200 KiB), so the kernel keeps all.
        let count: UInt32 = 100
        try await withWatchdog([a, b]) {
            var events = b.events.makeAsyncIterator()
            for seq in 1...count {
                a.send(Packet(sender: "node-a", message: .ack(seq: seq)), to: b.localAddress)
            }
            for seq in 1...count {
                let event = try #require(await events.next())
                #expect(event == .packet(Packet(sender: "node-a", message: .ack(seq: seq)), from: a.localAddress, reliable: false))
            }
        }
        #expect(b.stats.packetsIn == UInt64(count))
        #expect(b.stats.dropped.values.allSatisfy { $0 == 0 })
        #expect(b.stats.bytesIn == a.stats.bytesOut)
        await a.close()
        await b.close()
    }

    @Test func datagramLongerThanTheLimitIsDroppedAsOversizeFromTheSocket() async throws {
        // The receive buffer is cut into one slice per datagram of a `recvmmsg`; a
        // datagram longer than the limit must still be seen to be too long.
        var settings = loopback()
        settings.maxDatagramBytes = 1_000
        let receiverLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let receiver = try await GossipTransport(
            settings: settings, keyring: Keyring(primary: keyA), logger: testLogger, group: receiverLoop)
        let sender = try await GossipTransport(settings: loopback(), keyring: Keyring(primary: keyA), logger: testLogger)
        let raw = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let target = try SocketAddress(ipAddress: "127.0.0.1", port: Int(receiver.localAddress.port))
        try await withWatchdog([receiver, sender]) {
            var events = receiver.events.makeAsyncIterator()
            for size in [1_001, 1_500, 4_000] {
                try await raw.writeAndFlush(
                    AddressedEnvelope(remoteAddress: target, data: ByteBuffer(repeating: 7, count: size))
                ).get()
            }
            // One event loop: once this arrives, the long ones before it were counted.
            sender.send(ping, to: receiver.localAddress)
            #expect(try #require(await events.next()) == .packet(ping, from: sender.localAddress, reliable: false))
        }
        #expect(receiver.stats.dropped(.oversize) == 3)
        #expect(receiver.stats.packetsIn == 1)
        try await raw.close()
        await receiver.close()
        await sender.close()
        try await receiverLoop.shutdownGracefully()
    }

    @Test func badStreamFramesAreDroppedAndCounted() async throws {
        let receiverLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let receiver = try await GossipTransport(
            settings: loopback(), keyring: Keyring(primary: keyA), logger: testLogger, group: receiverLoop)
        let sender = try await GossipTransport(
            settings: loopback(), keyring: Keyring(primary: keyA), logger: testLogger)
        let target = try SocketAddress(ipAddress: "127.0.0.1", port: Int(receiver.localAddress.port))

        /// Connects with a plain socket, writes `bytes`, closes the write side, and
        /// waits for the receiver to close the connection.
        func rawStream(_ bytes: [UInt8]) async throws {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(to: target).get()
            try await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
            try? await channel.close(mode: .output).get()
            try await channel.closeFuture.get()
        }

        let wrongKey = sealer(Keyring(primary: keyB), clock: TestClock(EnvelopeSealer.wallClockMilliseconds()))
        try await withWatchdog([receiver, sender]) {
            var events = receiver.events.makeAsyncIterator()
            try await rawStream([0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3])  // announces 4 GiB
            try await rawStream([0, 0, 0, 100, 1, 2, 3])  // cut short
            try await rawStream([0, 0, 0, 3, 1, 2, 3])  // a whole frame of garbage
            let foreign = StreamFrameDecoder.frame(wrongKey.seal(ping, advertised: sender.advertisedAddress))
            try await rawStream(Array(foreign.readableBytesView))  // sealed under a key not installed
            await sender.stream(ping, to: receiver.localAddress)
            // Each connection above was closed by the receiver once it had counted it;
            // the receiver's one event loop finished that before accepting the next.
            #expect(try #require(await events.next()) == .packet(ping, from: sender.advertisedAddress, reliable: true))
        }
        let stats = receiver.stats
        #expect(stats.dropped(.oversize) == 1)
        #expect(stats.dropped(.malformed) == 1)
        #expect(stats.dropped(.badSeal) == 2)
        #expect(stats.packetsIn == 1)
        await receiver.close()
        await sender.close()
        try await receiverLoop.shutdownGracefully()
    }

    @Test func inboundConnectionsOverTheLimitAreRefused() async throws {
        var settings = loopback()
        settings.maxInboundConnections = 1
        // One event loop, so the two connections are admitted in the order they came.
        let receiverLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let receiver = try await GossipTransport(
            settings: settings, keyring: Keyring(primary: keyA), logger: testLogger, group: receiverLoop)
        let target = try SocketAddress(ipAddress: "127.0.0.1", port: Int(receiver.localAddress.port))
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        let held = try await bootstrap.connect(to: target).get()
        try await withWatchdog([receiver]) {
            // The second connection is accepted by the kernel, then closed by the agent.
            let refused = try await bootstrap.connect(to: target).get()
            try await refused.closeFuture.get()
        }
        #expect(receiver.stats.connectionsRefused == 1)
        try await held.close()
        await receiver.close()
        try await receiverLoop.shutdownGracefully()
    }

    @Test func streamThatSendsNoFrameIsClosedAtTheReadTimeout() async throws {
        var settings = loopback()
        settings.streamReadTimeout = .milliseconds(50)
        let receiver = try await GossipTransport(
            settings: settings, keyring: Keyring(primary: keyA), logger: testLogger)
        let target = try SocketAddress(ipAddress: "127.0.0.1", port: Int(receiver.localAddress.port))
        try await withWatchdog([receiver]) {
            let idle = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(to: target).get()
            // Part of a frame, then silence. On a loaded machine the 50 ms deadline may
            // close the connection before this write: that is the timeout under test.
            try? await idle.writeAndFlush(ByteBuffer(bytes: [0, 0, 0, 9, 1])).get()
            try await idle.closeFuture.get()
        }
        #expect(receiver.stats.streamTimeouts == 1)
        await receiver.close()
    }

    @Test func failedStreamIsCountedNotThrownAndCloseEndsEvents() async throws {
        let transport = try await GossipTransport(
            settings: loopback(), keyring: Keyring(primary: keyA), logger: testLogger)
        let closed = try await GossipTransport(
            settings: loopback(), keyring: Keyring(primary: keyA), logger: testLogger)
        let deadAddress = closed.localAddress
        await closed.close()

        await transport.stream(ping, to: deadAddress)
        #expect(transport.stats.streamConnectFailures == 1)

        await transport.close()
        await transport.close()  // idempotent
        var events = transport.events.makeAsyncIterator()
        #expect(await events.next() == nil)
        // After close, sending does nothing and does not crash.
        transport.send(ping, to: deadAddress)
        await transport.stream(ping, to: deadAddress)
        #expect(transport.stats.packetsOut == 0)
    }

    @Test func keyRotationAtRunTimeOnALiveTransport() async throws {
        let receiver = try await GossipTransport(
            settings: loopback(), keyring: Keyring(primary: keyA), logger: testLogger)
        let sender = try await GossipTransport(
            settings: loopback(), keyring: Keyring(primary: keyA), logger: testLogger)
        try await withWatchdog([receiver, sender]) {
            var events = receiver.events.makeAsyncIterator()
            _ = receiver.updateKeyring { $0.install(keyB) }
            try sender.updateKeyring { (keyring: inout Keyring) throws(KeyringError) in
                keyring.install(keyB)
                try keyring.use(keyB)
            }
            sender.send(ping, to: receiver.localAddress)
            #expect(try #require(await events.next()) == .packet(ping, from: sender.localAddress, reliable: false))
            await sender.stream(ping, to: receiver.localAddress)
            #expect(try #require(await events.next()) == .packet(ping, from: sender.advertisedAddress, reliable: true))
        }
        #expect(receiver.keyring.keys == [keyA, keyB])
        await receiver.close()
        await sender.close()
    }
}
