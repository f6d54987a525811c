import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing
import VigilCore
import VigilCrypto

@testable import VigilAgent

/// A live agent on 127.0.0.1 (engine, sealed transport, control API) with one peer,
/// fed thousands of bad datagrams and stream frames from plain sockets. Every bad
/// packet must be dropped and counted under its reason, and nothing else may change.
///
/// Counts are exact. TCP is reliable. UDP on loopback loses datagrams only when the
/// receiver's socket buffer overflows, so datagrams go in small batches (a few dozen,
/// well under the default 208 KiB receive buffer) and each batch is waited for until
/// the agent has counted it, before the next is sent.
@Suite("An agent under bad input", .serialized)
struct AgentBadInputTests {
    /// Largest datagram the target accepts. Below UDP's own limit (the default 64 KiB
    /// is above it), so that an oversized datagram can be sent at all.
    static let maxDatagramBytes = 2048

    @Test func badDatagramsAndFramesAreCountedByReasonAndTheAgentKeepsWorking() async throws {
        let seed = SecureRandom.uint64()
        var rng = DeterministicRNG(seed: seed)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-bad-input-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = ClusterKey.generate()
        var settings = TransportSettings(bind: Address(host: "127.0.0.1", port: 0))
        settings.maxDatagramBytes = Self.maxDatagramBytes
        // The lan preset: under a flood on 2 shared cores, no false suspicion may blur
        // what the test checks (the detector's speed is not the point here).
        let target = try await AgentLoopbackTests.makeNode(
            "target", key: key, join: [], directory: directory, transport: settings, configuration: .lan)
        let peer = try await AgentLoopbackTests.makeNode(
            "peer", key: key, join: [target.transport.localAddress], directory: directory, configuration: .lan)

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for node in [target, peer] {
                tasks.addTask { try await node.group.run() }
            }
            let bothAlive = ["peer": "alive", "target": "alive"]
            let converged = await AgentLoopbackTests.eventually {
                let seenByTarget = await AgentLoopbackTests.statuses(target)
                let seenByPeer = await AgentLoopbackTests.statuses(peer)
                return seenByTarget == bothAlive && seenByPeer == bothAlive
            }
            try #require(converged, "target and peer did not see each other alive")

            let flood = try await Flood(target: target.transport, key: key)
            let before = target.transport.stats
            let dropsBefore = Self.totalDrops(before)
            var expected: [TransportDropReason: UInt64] = [:]
            var sentBad: UInt64 = 0

            /// Sends `datagrams`, batch by batch, each counted before the next.
            func send(_ datagrams: [[UInt8]], as reason: TransportDropReason, batch: Int = 32) async throws {
                for start in stride(from: 0, to: datagrams.count, by: batch) {
                    for datagram in datagrams[start..<min(start + batch, datagrams.count)] {
                        try await flood.datagram(datagram)
                    }
                    sentBad += UInt64(min(batch, datagrams.count - start))
                    let counted = await AgentLoopbackTests.eventually {
                        Self.totalDrops(target.transport.stats) - dropsBefore >= sentBad
                    }
                    try #require(counted, "datagrams went uncounted (\(reason)); seed \(seed)")
                }
                expected[reason, default: 0] += UInt64(datagrams.count)
            }

            // UDP. Random bytes: no seal opens.
            try await send(
                (0..<1000).map { _ in rng.bytes(in: 1...1400) }, as: .badSeal)
            // Genuine envelopes cut short anywhere: the seal's tag no longer matches.
            try await send(
                (0..<500).map { _ in
                    let sealed = flood.sealed(flood.harmless(&rng))
                    return Array(sealed.prefix(Int.random(in: 1..<sealed.count, using: &rng)))
                }, as: .badSeal)
            // Sealed under a key the cluster does not hold.
            try await send((0..<500).map { _ in flood.sealed(flood.harmless(&rng), with: flood.foreign) }, as: .badSeal)
            // Sealed under the cluster key around bytes that are no envelope or no packet:
            // only a buggy or newer member could send these.
            try await send((0..<500).map { _ in flood.sealed(plaintext: flood.garbagePlaintext(&rng)) }, as: .malformed)
            // Sealed a minute ago: outside the freshness window.
            try await send(
                (0..<200).map { _ in flood.sealed(flood.harmless(&rng), at: flood.now() - 60_000) }, as: .stale)
            // Larger than the target accepts; a few at a time, they are big.
            try await send(
                (0..<60).map { _ in rng.bytes(in: Self.maxDatagramBytes + 1...60_000) },
                as: .oversize, batch: 2)
            // One genuine packet, then copies of it: the first is taken (and ignored by
            // the engine), the copies are replays. Loopback keeps their order.
            let genuine = flood.sealed(flood.harmless(&rng))
            try await flood.datagram(genuine)
            try await send(Array(repeating: genuine, count: 500), as: .replay)

            // TCP, one connection per frame, each closed by the target once counted.
            var frames: [(bytes: [UInt8], reason: TransportDropReason)] = []
            for _ in 0..<300 {
                // A length prefix above the 16 MiB limit: refused before buffering.
                let length = UInt32.random(in: UInt32(settings.maxFrameBytes + 1)...UInt32.max, using: &rng)
                frames.append((Flood.prefix(length) + rng.bytes(in: 0...64), .oversize))
            }
            for _ in 0..<300 {
                // Half a frame, then the connection closes: cut in the prefix or the body.
                let length = Int.random(in: 1...1500, using: &rng)
                let whole = Flood.prefix(UInt32(length)) + rng.bytes(length)
                frames.append((Array(whole.prefix(Int.random(in: 1..<whole.count, using: &rng))), .malformed))
            }
            for _ in 0..<300 {
                // A whole frame of random bytes.
                let body = rng.bytes(in: 1...1500)
                frames.append((Flood.prefix(UInt32(body.count)) + body, .badSeal))
            }
            for _ in 0..<100 {
                // A whole frame sealed under the cluster key around garbage.
                let body = flood.sealed(plaintext: flood.garbagePlaintext(&rng))
                frames.append((Flood.prefix(UInt32(body.count)) + body, .malformed))
            }
            frames.shuffle(using: &rng)
            for frame in frames {
                try await flood.frame(frame.bytes)
                expected[frame.reason, default: 0] += 1
            }

            // The target counts a frame as it closes the connection; the client may see
            // the close a moment before the count lands: wait for the counts (a hang
            // guard), then require them exact.
            _ = await AgentLoopbackTests.eventually {
                let now = target.transport.stats
                return TransportDropReason.allCases.allSatisfy {
                    now.dropped($0) - before.dropped($0) >= expected[$0, default: 0]
                }
            }
            let after = target.transport.stats
            for reason in TransportDropReason.allCases {
                #expect(
                    after.dropped(reason) - before.dropped(reason) == expected[reason, default: 0],
                    "drops counted as \(reason.rawValue); seed \(seed)")
            }
            #expect(after.connectionsRefused == before.connectionsRefused)

            // Still up, still answering, and nothing about the cluster changed.
            #expect(await AgentLoopbackTests.statuses(target) == bothAlive)
            #expect(await AgentLoopbackTests.statuses(peer)["target"] == "alive")
            let listed = try await ControlClient(path: target.controlPath).getMembers()
            #expect(listed.map(\.name) == ["peer", "target"])
            // It still hears its peer: fresh packets keep arriving after the flood.
            let hearing = await AgentLoopbackTests.eventually {
                target.transport.stats.packetsIn > after.packetsIn + 10
            }
            #expect(hearing, "the target stopped receiving its peer's packets")
            try await flood.close()

            await target.group.triggerGracefulShutdown()
            await peer.group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    static func totalDrops(_ stats: TransportStats) -> UInt64 {
        stats.dropped.values.reduce(0, +)
    }
}

/// Plain sockets aimed at one transport, and the bad packets to send it.
private struct Flood {
    let target: SocketAddress
    let keyring: Keyring
    let foreign = Keyring(primary: ClusterKey.generate())
    let channel: any Channel
    let now: @Sendable () -> UInt64 = EnvelopeSealer.wallClockMilliseconds
    let advertised = Address(host: "127.0.0.1", port: 9)

    init(target transport: GossipTransport, key: ClusterKey) async throws {
        self.target = try SocketAddress(ipAddress: "127.0.0.1", port: Int(transport.localAddress.port))
        self.keyring = Keyring(primary: key)
        self.channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
    }

    /// A packet the engine takes and ignores: an ack for no probe, from a stranger.
    func harmless(_ rng: inout DeterministicRNG) -> Packet {
        Packet(sender: "stranger", message: .ack(seq: UInt32.random(in: 1...UInt32.max, using: &rng)))
    }

    func sealed(_ packet: Packet, with keyring: Keyring? = nil, at time: UInt64? = nil) -> [UInt8] {
        SealedEnvelope(packet: packet, advertised: self.advertised, timestamp: time ?? self.now())
            .sealed(with: keyring ?? self.keyring)
    }

    func sealed(plaintext: [UInt8]) -> [UInt8] {
        self.keyring.seal(plaintext)
    }

    /// A plaintext that does not open as an envelope: random bytes, or a good
    /// envelope header in front of random packet bytes. Checked here, so each one
    /// sent is known to be malformed.
    func garbagePlaintext(_ rng: inout DeterministicRNG) -> [UInt8] {
        while true {
            let body = rng.bytes(in: 0...600)
            let candidate: [UInt8]
            if Bool.random(using: &rng) {
                candidate = body
            } else {
                let header = SealedEnvelope(packet: Packet(sender: "x", message: .gossip), advertised: self.advertised, timestamp: self.now())
                    .plaintext()
                let packetStart = header.count - Packet(sender: "x", message: .gossip).encoded().count
                candidate = Array(header.prefix(packetStart)) + body
            }
            if (try? SealedEnvelope(plaintext: candidate)) == nil { return candidate }
        }
    }

    /// One datagram from the flood's own socket.
    func datagram(_ bytes: [UInt8]) async throws {
        try await self.channel.writeAndFlush(AddressedEnvelope(remoteAddress: self.target, data: ByteBuffer(bytes: bytes)))
            .get()
    }

    /// Connects, writes `bytes`, closes the write side, and waits until the target
    /// has closed the connection: by then it has counted the frame.
    func frame(_ bytes: [UInt8]) async throws {
        let connection = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(to: self.target).get()
        // The target may close (and reset) while an oversized frame is still being
        // written; that is the point, not a failure.
        try? await connection.writeAndFlush(ByteBuffer(bytes: bytes)).get()
        try? await connection.close(mode: .output).get()
        try await connection.closeFuture.get()
    }

    func close() async throws {
        try await self.channel.close()
    }

    /// A 4-byte big-endian frame length.
    static func prefix(_ length: UInt32) -> [UInt8] {
        [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
    }
}

extension DeterministicRNG {
    fileprivate mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
    }

    /// Random bytes, as many as a random pick from `counts`.
    fileprivate mutating func bytes(in counts: ClosedRange<Int>) -> [UInt8] {
        let count = Int.random(in: counts, using: &self)
        return self.bytes(count)
    }
}
