import VigilCore
import VigilCrypto

/// What travels inside the seal of every datagram and stream frame: the packet, the
/// time it was sealed, and the address its sender gossips on.
///
/// Plaintext layout (envelope version 1), all integers big-endian:
///
///     u8   envelope version     1
///     u64  sealed at            sender's wall-clock time, ms since the Unix epoch
///     u8   host length          0...255
///     ...  host                 UTF-8, the sender's advertised gossip host
///     u16  port                 the sender's advertised gossip port
///     ...  packet               `Packet.encoded()`, to the end
///
/// Sealed with ``Keyring/seal(_:)`` this becomes
///
///     [keyring version: 1][key id: 4][nonce: 24][ciphertext ‖ tag: plaintext + 16]
///
/// Time and advertised address sit inside the seal so that they are authenticated:
/// the freshness check (``EnvelopeSealer``) cannot be defeated by rewriting them, and
/// a stream's reply address cannot be redirected.
///
/// Pure: no clock, no state. ``EnvelopeSealer`` adds the clock, the replay cache and
/// the lock around a keyring that can be rotated at run time. Public so that a load
/// generator (`vigil-loadgen`) makes exactly what agents open.
public struct SealedEnvelope: Equatable, Sendable {
    /// The envelope version this build writes and reads.
    public static let version: UInt8 = 1

    /// Where ``Keyring/seal(_:)`` puts the nonce: after its version byte and 4-byte
    /// key id (Keyring.swift). 24 bytes, XChaCha20's nonce.
    static let nonceRange = 5..<29

    /// Bytes of plaintext around host and packet: version, time, host length, port.
    static let fixedPlaintextBytes = 1 + 8 + 1 + 2

    /// Longest advertised host, in UTF-8 bytes (1-byte length).
    static let maxHostBytes = 255

    /// Bytes a sealed datagram carries besides its packet, for a sender that
    /// advertises `host`: the keyring's seal (version, key id, nonce, tag) and this
    /// envelope's plaintext header (version, time, host, port).
    public static func datagramOverhead(advertisedHost host: String) -> Int {
        Keyring.overhead + Self.fixedPlaintextBytes + host.utf8.count
    }

    public var packet: Packet
    /// The sender's gossip address as it advertises it.
    public var advertised: Address
    /// Sender's wall-clock time at sealing, ms since the Unix epoch.
    public var timestamp: UInt64

    /// The plaintext that goes into the seal.
    ///
    /// - Precondition: `advertised.host` fits in ``maxHostBytes`` UTF-8 bytes
    ///   (``EnvelopeSealer/check(advertised:)`` vets it when the agent starts).
    public func plaintext() -> [UInt8] {
        let host = self.advertised.host.utf8
        precondition(host.count <= Self.maxHostBytes, "advertised host is longer than 255 bytes")
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.fixedPlaintextBytes + host.count + self.packet.encodedSize)
        bytes.append(Self.version)
        Self.append(self.timestamp, to: &bytes)
        bytes.append(UInt8(host.count))
        bytes.append(contentsOf: host)
        Self.append(self.advertised.port, to: &bytes)
        // Straight into the plaintext: no array of its own to copy from.
        self.packet.encode(appendingTo: &bytes)
        return bytes
    }

    /// Reads a plaintext made by ``plaintext()``. Never traps.
    /// - Throws: ``EnvelopeError/malformed(_:)``: with `nil` if the envelope header is
    ///   bad, with the `WireError` if the packet inside does not decode.
    init(plaintext bytes: [UInt8]) throws(EnvelopeError) {
        let decoded = bytes.withUnsafeBytes { bytes in
            Result { () throws(EnvelopeError) -> SealedEnvelope in try SealedEnvelope(plaintext: bytes) }
        }
        self = try decoded.get()
    }

    /// ``init(plaintext:)-([UInt8])`` of bytes the caller holds.
    init(plaintext bytes: UnsafeRawBufferPointer) throws(EnvelopeError) {
        guard bytes.count >= Self.fixedPlaintextBytes, bytes[0] == Self.version else { throw .malformed(nil) }
        let timestamp = bigEndianUInt64(bytes, at: 1)
        let hostCount = Int(bytes[9])
        let hostEnd = 10 + hostCount
        guard bytes.count >= hostEnd + 2 else { throw .malformed(nil) }
        guard let host = String(exactUTF8: UnsafeRawBufferPointer(rebasing: bytes[10..<hostEnd])) else {
            throw .malformed(nil)
        }
        let port = UInt16(bytes[hostEnd]) << 8 | UInt16(bytes[hostEnd + 1])
        let packet: Packet
        do {
            packet = try Packet(decoding: UnsafeRawBufferPointer(rebasing: bytes[(hostEnd + 2)...]))
        } catch {
            throw .malformed(error)
        }
        self.init(packet: packet, advertised: Address(host: host, port: port), timestamp: timestamp)
    }

    public init(packet: Packet, advertised: Address, timestamp: UInt64) {
        self.packet = packet
        self.advertised = advertised
        self.timestamp = timestamp
    }

    /// The envelope sealed under `keyring`'s primary key with a fresh random nonce.
    func sealed(with keyring: Keyring) -> [UInt8] {
        keyring.seal(self.plaintext())
    }

    /// The envelope sealed under the installed key with id `keyID`, if any, else the
    /// primary (``Keyring/seal(_:preferring:)``).
    func sealed(with keyring: Keyring, preferring keyID: UInt32?) -> [UInt8] {
        keyring.seal(self.plaintext(), preferring: keyID)
    }

    /// Authenticates, decrypts and parses sealed bytes. Checks neither freshness nor
    /// replay: that needs a clock and memory, which ``EnvelopeSealer`` has.
    /// - Throws: ``EnvelopeError/badSeal(_:)`` or ``EnvelopeError/malformed(_:)``.
    static func open(_ sealed: UnsafeRawBufferPointer, with keyring: Keyring) throws(EnvelopeError) -> (
        envelope: SealedEnvelope, nonce: Nonce
    ) {
        let plaintext: [UInt8]
        do {
            plaintext = try keyring.open(sealed)
        } catch {
            throw .badSeal(error)
        }
        // `open` succeeded, so `sealed` holds a whole header and nonce.
        guard let nonce = Nonce(sealed: sealed) else { throw .malformed(nil) }
        return (try SealedEnvelope(plaintext: plaintext), nonce)
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        var big = value.bigEndian
        withUnsafeBytes(of: &big) { bytes.append(contentsOf: $0) }
    }
}

/// The 24-byte nonce of a sealed packet, as the replay cache remembers it: three
/// words, so hashing and comparing do not touch the heap.
struct Nonce: Hashable, Sendable {
    var high: UInt64
    var middle: UInt64
    var low: UInt64

    /// The nonce in bytes ``SealedEnvelope/nonceRange`` of `sealed`, or `nil` if
    /// `sealed` is too short to hold one.
    init?(sealed: [UInt8]) {
        guard let nonce = sealed.withUnsafeBytes({ Nonce(sealed: $0) }) else { return nil }
        self = nonce
    }

    /// ``init(sealed:)-([UInt8])`` of bytes the caller holds.
    init?(sealed: UnsafeRawBufferPointer) {
        let range = SealedEnvelope.nonceRange
        guard sealed.count >= range.upperBound else { return nil }
        self.high = bigEndianUInt64(sealed, at: range.lowerBound)
        self.middle = bigEndianUInt64(sealed, at: range.lowerBound + 8)
        self.low = bigEndianUInt64(sealed, at: range.lowerBound + 16)
    }
}

/// The 8 bytes of `bytes` from `start`, big-endian (the caller checked they are there).
private func bigEndianUInt64(_ bytes: UnsafeRawBufferPointer, at start: Int) -> UInt64 {
    UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: start, as: UInt64.self))
}

extension Configuration {
    /// This configuration with `gossip.sealOverhead` raised, if need be, to what this
    /// agent's envelope really adds around a packet (``SealedEnvelope/datagramOverhead(advertisedHost:)``),
    /// so that a datagram the engine fills to `gossip.mtu` stays within it once sealed:
    /// the presets' 48 bytes cover the seal but not the envelope's header, and a long
    /// advertised host name would otherwise push a full packet past the path MTU.
    public func reservingEnvelope(advertisedHost host: String) -> Configuration {
        var configuration = self
        configuration.gossip.sealOverhead = max(
            configuration.gossip.sealOverhead, SealedEnvelope.datagramOverhead(advertisedHost: host))
        return configuration
    }
}
