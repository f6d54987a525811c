import NIOCore
import Synchronization
import VigilCore
import VigilCrypto

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Seals outbound packets and opens inbound ones for the transport, with the replay
/// defence: a packet is accepted only if it was sealed within ±`freshnessWindow` of
/// this node's clock and its nonce was not seen before within that window.
///
/// The one place that holds the keyring and the replay cache, each behind a
/// `Mutex`: the keyring changes at run time (`vigil keys install/use/remove`) while
/// event-loop threads open packets. The lock is held only to copy the keyring out
/// (copy-on-write arrays: no bytes are copied) or to touch the cache, never while
/// sealing or opening.
final class EnvelopeSealer: Sendable {
    /// Default freshness window: wide enough for NTP-synced clocks and slow links,
    /// narrow enough that the replay cache can remember every nonce inside it.
    static let defaultFreshnessWindow: Duration = .seconds(30)
    /// Default replay cache size: 65,536 nonces, about 2 MiB.
    static let defaultReplayCapacity = 65_536

    /// Accepts packets sealed within this many ms either side of `clock()`.
    let freshnessWindowMS: UInt64
    /// Wall-clock ms since the Unix epoch; injected so tests need no sleeping.
    let clock: @Sendable () -> UInt64

    private let keyringBox: Mutex<Keyring>
    private let replayCache: Mutex<ReplayCache>
    /// The key id each peer last sealed an accepted packet with, by address.
    private let peerKeys: Mutex<PeerKeyMemory>

    /// - Parameters:
    ///   - keyring: seals with its primary key, opens with any installed key.
    ///   - freshnessWindow: how far a sender's clock may be from this node's.
    ///   - replayCapacity: most nonces remembered (see ``ReplayCache``).
    ///   - clock: wall-clock time in ms since the Unix epoch.
    init(
        keyring: Keyring,
        freshnessWindow: Duration = EnvelopeSealer.defaultFreshnessWindow,
        replayCapacity: Int = EnvelopeSealer.defaultReplayCapacity,
        clock: @escaping @Sendable () -> UInt64 = EnvelopeSealer.wallClockMilliseconds
    ) {
        let (seconds, attoseconds) = freshnessWindow.components
        self.freshnessWindowMS = UInt64(max(0, seconds)) * 1000 + UInt64(max(0, attoseconds) / 1_000_000_000_000_000)
        self.clock = clock
        self.keyringBox = Mutex(keyring)
        self.replayCache = Mutex(ReplayCache(capacity: replayCapacity))
        self.peerKeys = Mutex(PeerKeyMemory(capacity: PeerKeyMemory.defaultCapacity))
    }

    /// The keyring in use now.
    var keyring: Keyring {
        self.keyringBox.withLock { $0 }
    }

    /// Changes the keyring in place, atomically with respect to sealing and opening:
    /// `sealer.updateKeyring { try $0.use(newKey) }`.
    func updateKeyring<Result, Failure: Error>(
        _ body: (inout Keyring) throws(Failure) -> Result
    ) throws(Failure) -> Result where Result: Sendable {
        try self.keyringBox.withLock { (keyring: inout Keyring) throws(Failure) -> Result in
            try body(&keyring)
        }
    }

    /// `packet` in a sealed envelope that names `advertised` as the sender's address
    /// and carries the current time.
    ///
    /// Sealed with the key `peer` last sealed an accepted packet with, if that key is
    /// still installed here, else with the primary. That is what lets a node that was
    /// down during a rotation rejoin: it still seals with the old key, which the others
    /// keep installed until `vigil keys remove`, and it can open only answers sealed
    /// with that key until it has adopted the new keyring. Everyone else gets the
    /// primary, and a peer that switched keys is answered with its new one at once.
    func seal(_ packet: Packet, advertised: Address, to peer: Address? = nil) -> [UInt8] {
        let preferred = peer.flatMap { peer in self.peerKeys.withLock { $0.keyID(for: peer) } }
        return SealedEnvelope(packet: packet, advertised: advertised, timestamp: self.clock())
            .sealed(with: self.keyring, preferring: preferred)
    }

    /// ``seal(_:advertised:to:)`` straight into a buffer from `allocator`, ready to
    /// write to a channel: no array to copy it from.
    func seal(_ packet: Packet, advertised: Address, to peer: Address?, allocator: ByteBufferAllocator) -> ByteBuffer {
        let preferred = peer.flatMap { peer in self.peerKeys.withLock { $0.keyID(for: peer) } }
        let plaintext = SealedEnvelope(packet: packet, advertised: advertised, timestamp: self.clock()).plaintext()
        let keyring = self.keyring
        let count = plaintext.count + Keyring.overhead
        var buffer = allocator.buffer(capacity: count)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { output in
            plaintext.withUnsafeBytes { plaintext in
                keyring.seal(
                    plaintext, preferring: preferred, into: UnsafeMutableRawBufferPointer(rebasing: output[..<count]))
            }
            return count
        }
        return buffer
    }

    /// The key id `peer` last sealed an accepted packet with (tests and `vigil info`).
    func lastKeyID(of peer: Address) -> UInt32? {
        self.peerKeys.withLock { $0.keyID(for: peer) }
    }

    /// Opens sealed bytes from the network, refusing replays and stale packets.
    ///
    /// Checks in order of cost, cheapest first, and remembers a nonce only once the
    /// seal has authenticated it, so garbage cannot fill the replay cache.
    /// - Parameters:
    ///   - sealed: one datagram or stream frame, without the frame's length prefix.
    ///   - maxBytes: inputs longer than this are dropped unread.
    /// - Returns: the packet and the sender's advertised address.
    /// - Throws: the ``EnvelopeError`` to count the drop under.
    ///   - source: the UDP source address, remembered with the advertised address as
    ///     where the key this packet was sealed with is preferred for answers.
    func open(_ sealed: [UInt8], maxBytes: Int, source: Address? = nil) throws(EnvelopeError) -> (
        packet: Packet, advertised: Address
    ) {
        let opened = sealed.withUnsafeBytes { sealed in
            Result { () throws(EnvelopeError) in try self.open(sealed, maxBytes: maxBytes, source: source) }
        }
        return try opened.get()
    }

    /// ``open(_:maxBytes:source:)-([UInt8],_,_)`` of a buffer read from the network,
    /// without copying it out first.
    func open(_ sealed: ByteBuffer, maxBytes: Int, source: Address? = nil) throws(EnvelopeError) -> (
        packet: Packet, advertised: Address
    ) {
        let opened = sealed.withUnsafeReadableBytes { sealed in
            Result { () throws(EnvelopeError) in try self.open(sealed, maxBytes: maxBytes, source: source) }
        }
        return try opened.get()
    }

    private func open(_ sealed: UnsafeRawBufferPointer, maxBytes: Int, source: Address?) throws(EnvelopeError) -> (
        packet: Packet, advertised: Address
    ) {
        guard sealed.count <= maxBytes else { throw .oversize }
        let (envelope, nonce) = try SealedEnvelope.open(sealed, with: self.keyring)
        let now = self.clock()
        let window = self.freshnessWindowMS
        // Written so that no sum or difference can overflow, whatever the sender claims.
        let fresh =
            envelope.timestamp <= now
            ? now - envelope.timestamp <= window
            : envelope.timestamp - now <= window
        guard fresh else { throw .stale }
        let (expiry, overflow) = envelope.timestamp.addingReportingOverflow(window)
        let isNew = self.replayCache.withLock {
            $0.insert(nonce, expiry: overflow ? .max : expiry, now: now)
        }
        guard isNew else { throw .replay }
        // Authenticated, fresh and new: the key id in the header is the sender's.
        if let keyID = Keyring.keyID(ofSealed: sealed) {
            self.peerKeys.withLock {
                $0.remember(keyID, for: envelope.advertised)
                if let source, source != envelope.advertised { $0.remember(keyID, for: source) }
            }
        }
        return (envelope.packet, envelope.advertised)
    }

    /// Nonces dropped from the replay cache for room before they expired.
    var replayEvictedEarly: UInt64 {
        self.replayCache.withLock { $0.evictedEarly }
    }

    /// Why `address` cannot be advertised in an envelope, or `nil` if it can.
    static func check(advertised address: Address) -> String? {
        let count = address.host.utf8.count
        guard count <= SealedEnvelope.maxHostBytes else {
            return "advertise host must be at most \(SealedEnvelope.maxHostBytes) bytes of UTF-8, got \(count)"
        }
        return nil
    }

    /// The system's wall-clock time in ms since the Unix epoch (`CLOCK_REALTIME`).
    /// Senders and receivers compare these, so nodes need NTP-synced clocks.
    @Sendable static func wallClockMilliseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UInt64(max(0, spec.tv_sec)) * 1000 + UInt64(max(0, spec.tv_nsec) / 1_000_000)
    }
}
