/// The cluster's gossip keys: one primary key seals, every installed key opens.
///
/// Rotation without downtime, as `vigil keys install/use/remove` drives it:
/// 1. `install(new)` on every node — all nodes can now open packets sealed with it;
/// 2. `use(new)` on every node — nodes seal with it, and still open the old key;
/// 3. `remove(old)` once no node seals with the old key any more.
///
/// A sealed packet is laid out as
///
///     [version: 1][key id: 4, big-endian][nonce: 24][ciphertext ‖ tag: n + 16]
///
/// with the version and key id authenticated as associated data, so neither can be
/// changed in transit without `open` failing. Nonces are random: XChaCha20's 192-bit
/// nonce makes a collision negligible however many packets one key seals
/// (draft-irtf-cfrg-xchacha-03, "Motivation").
public struct Keyring: Sendable, Equatable {
    /// The envelope version written by ``seal(_:)``. Only this one is accepted.
    public static let version: UInt8 = 1

    /// Bytes a sealed packet adds to its plaintext: version, key id, nonce, tag.
    public static let overhead =
        headerByteCount + XChaCha20Poly1305.nonceByteCount + XChaCha20Poly1305.tagByteCount

    /// Version and key id: the part authenticated as associated data.
    static let headerByteCount = 1 + 4

    /// The key that seals.
    public private(set) var primary: ClusterKey

    /// Every key that opens, including the primary, in the order installed.
    public private(set) var keys: [ClusterKey]

    /// - Parameters:
    ///   - primary: the key to seal with; it is installed too.
    ///   - others: further keys to open with (duplicates are ignored).
    public init(primary: ClusterKey, others: [ClusterKey] = []) {
        self.primary = primary
        self.keys = [primary]
        for key in others {
            self.install(key)
        }
    }

    /// Adds `key` to the keys that open packets. Installing a key twice does nothing.
    /// - Returns: `true` if the key was not installed before.
    @discardableResult
    public mutating func install(_ key: ClusterKey) -> Bool {
        guard !self.keys.contains(key) else { return false }
        self.keys.append(key)
        return true
    }

    /// Makes an installed key the primary, the one ``seal(_:)`` uses. The previous
    /// primary stays installed.
    /// - Throws: ``KeyringError/notInstalled(_:)`` if `key` is not installed: every
    ///   node must be able to open a key before any node seals with it.
    public mutating func use(_ key: ClusterKey) throws(KeyringError) {
        guard self.keys.contains(key) else { throw .notInstalled(key.id) }
        self.primary = key
    }

    /// Removes `key` so packets sealed with it no longer open. Removing a key that
    /// is not installed does nothing, so a repeated `vigil keys remove` is harmless.
    /// - Returns: `true` if the key was installed.
    /// - Throws: ``KeyringError/cannotRemovePrimary(_:)`` if `key` is the primary.
    @discardableResult
    public mutating func remove(_ key: ClusterKey) throws(KeyringError) -> Bool {
        guard key != self.primary else { throw .cannotRemovePrimary(key.id) }
        guard let index = self.keys.firstIndex(of: key) else { return false }
        self.keys.remove(at: index)
        return true
    }

    /// Encrypts and authenticates `plaintext` under the primary key with a fresh
    /// random nonce.
    /// - Returns: `plaintext.count + Keyring.overhead` bytes.
    public func seal(_ plaintext: [UInt8]) -> [UInt8] {
        self.seal(plaintext, preferring: nil)
    }

    /// Seals under the installed key with id `keyID` if there is one, else under the
    /// primary key.
    ///
    /// For answering a peer that still seals with an older installed key: a node that
    /// was down during a rotation comes back holding only the old key, and must be
    /// able to open the answers until it has adopted the new keyring.
    public func seal(_ plaintext: [UInt8], preferring keyID: UInt32?) -> [UInt8] {
        plaintext.withUnsafeBytes { plaintext in
            [UInt8](unsafeUninitializedCapacity: plaintext.count + Self.overhead) { output, count in
                self.seal(plaintext, preferring: keyID, into: UnsafeMutableRawBufferPointer(output))
                count = plaintext.count + Self.overhead
            }
        }
    }

    /// ``seal(_:preferring:)`` from and into memory the caller holds, such as a network
    /// buffer, so that sealing copies nothing more.
    /// - Parameter output: exactly `plaintext.count + Keyring.overhead` bytes, not
    ///   overlapping `plaintext`.
    public func seal(
        _ plaintext: UnsafeRawBufferPointer, preferring keyID: UInt32?, into output: UnsafeMutableRawBufferPointer
    ) {
        let nonceEnd = Self.headerByteCount + XChaCha20Poly1305.nonceByteCount
        precondition(output.count == plaintext.count + Self.overhead, "sealing needs plaintext + overhead bytes")
        NoncePool.fill(UnsafeMutableRawBufferPointer(rebasing: output[Self.headerByteCount..<nonceEnd]))
        self.seal(plaintext, key: self.key(preferring: keyID), into: output)
    }

    /// The installed key with id `keyID`, if any, else the primary.
    private func key(preferring keyID: UInt32?) -> ClusterKey {
        guard let keyID, keyID != self.primary.id else { return self.primary }
        for key in self.keys where key.id == keyID {
            return key
        }
        return self.primary
    }

    /// The key id in a sealed packet's header, or `nil` if `sealed` is too short or
    /// of another envelope version. Not authenticated until ``open(_:)`` succeeded.
    public static func keyID(ofSealed sealed: [UInt8]) -> UInt32? {
        sealed.withUnsafeBytes { Self.keyID(ofSealed: $0) }
    }

    /// ``keyID(ofSealed:)-([UInt8])`` of bytes the caller holds.
    public static func keyID(ofSealed sealed: UnsafeRawBufferPointer) -> UInt32? {
        guard sealed.count >= Self.headerByteCount, sealed[0] == Self.version else { return nil }
        return UInt32(sealed[1]) << 24 | UInt32(sealed[2]) << 16 | UInt32(sealed[3]) << 8 | UInt32(sealed[4])
    }

    /// ``seal(_:)`` with a chosen nonce, for tests that need exact bytes. Never reuse
    /// a nonce with the same key: that reveals the XOR of two plaintexts and lets an
    /// attacker forge packets.
    func seal(_ plaintext: [UInt8], nonce: [UInt8]) -> [UInt8] {
        precondition(
            nonce.count == XChaCha20Poly1305.nonceByteCount, "a nonce is 24 bytes, got \(nonce.count)")
        return plaintext.withUnsafeBytes { plaintext in
            [UInt8](unsafeUninitializedCapacity: plaintext.count + Self.overhead) { output, count in
                let output = UnsafeMutableRawBufferPointer(output)
                output.baseAddress!.advanced(by: Self.headerByteCount).copyMemory(from: nonce, byteCount: nonce.count)
                self.seal(plaintext, key: self.primary, into: output)
                count = plaintext.count + Self.overhead
            }
        }
    }

    /// Writes the header and the sealed body around the nonce already in `output`.
    private func seal(_ plaintext: UnsafeRawBufferPointer, key: ClusterKey, into output: UnsafeMutableRawBufferPointer) {
        let id = key.id
        output[0] = Self.version
        output[1] = UInt8(id >> 24)
        output[2] = UInt8(id >> 16 & 0xff)
        output[3] = UInt8(id >> 8 & 0xff)
        output[4] = UInt8(id & 0xff)
        let nonceEnd = Self.headerByteCount + XChaCha20Poly1305.nonceByteCount
        let header = UnsafeRawBufferPointer(rebasing: output[0..<Self.headerByteCount])
        let nonce = UnsafeRawBufferPointer(rebasing: output[Self.headerByteCount..<nonceEnd])
        key.bytes.withUnsafeBytes { key in
            XChaCha20Poly1305.seal(
                plaintext, associatedData: header, nonce: nonce, key: key,
                into: UnsafeMutableRawBufferPointer(rebasing: output[nonceEnd...]))
        }
    }

    /// Checks and decrypts a packet made by ``seal(_:)`` on any node sharing a key
    /// with this keyring. Never traps, whatever `sealed` holds.
    /// - Throws: ``SealError`` saying why the packet was refused.
    public func open(_ sealed: [UInt8]) throws(SealError) -> [UInt8] {
        let opened = sealed.withUnsafeBytes { sealed in
            Result { () throws(SealError) -> [UInt8] in try self.open(sealed) }
        }
        return try opened.get()
    }

    /// ``open(_:)-([UInt8])`` of bytes the caller holds, such as a network buffer.
    public func open(_ sealed: UnsafeRawBufferPointer) throws(SealError) -> [UInt8] {
        guard sealed.count >= Self.overhead else { throw .truncated }
        guard sealed[0] == Self.version else { throw .unsupportedVersion }
        let id = Self.keyID(ofSealed: sealed)!
        let nonceEnd = Self.headerByteCount + XChaCha20Poly1305.nonceByteCount
        let header = UnsafeRawBufferPointer(rebasing: sealed[0..<Self.headerByteCount])
        let nonce = UnsafeRawBufferPointer(rebasing: sealed[Self.headerByteCount..<nonceEnd])
        let body = UnsafeRawBufferPointer(rebasing: sealed[nonceEnd...])
        // Usually one candidate; two only if different keys share an id.
        var known = false
        for key in self.keys where key.id == id {
            known = true
            let plaintext = key.bytes.withUnsafeBytes { key in
                XChaCha20Poly1305.open(body, associatedData: header, nonce: nonce, key: key)
            }
            if let plaintext { return plaintext }
        }
        throw known ? .authenticationFailed : .unknownKey(id)
    }
}

extension Keyring: CustomStringConvertible {
    public var description: String {
        let ids = self.keys.map { ClusterKey.formatID($0.id) }.joined(separator: ", ")
        return "Keyring(primary: \(ClusterKey.formatID(self.primary.id)), keys: [\(ids)])"
    }
}

/// Why a packet could not be opened. Every case means "drop and count it"; none
/// needs more than a debug log per packet, since anyone can send garbage.
public enum SealError: Error, Hashable, CustomStringConvertible {
    /// Shorter than ``Keyring/overhead``: cut off, or not from a Vigil node.
    case truncated
    /// The first byte is not an envelope version this node reads.
    case unsupportedVersion
    /// Sealed under a key with this id, which this keyring does not hold.
    case unknownKey(UInt32)
    /// The tag did not verify: the packet was altered, or sealed under a different
    /// key that happens to share the id.
    case authenticationFailed

    public var description: String {
        switch self {
        case .truncated:
            return "packet is shorter than the \(Keyring.overhead)-byte sealed envelope; "
                + "it was cut off in transit or does not come from a Vigil node"
        case .unsupportedVersion:
            return "packet has an unknown envelope version (this node reads version \(Keyring.version)); "
                + "the sender runs an incompatible Vigil release, or is not a Vigil node"
        case .unknownKey(let id):
            return "packet is sealed with key \(ClusterKey.formatID(id)), which is not installed here; "
                + "install it with `vigil keys install`, or check which keys the sender uses"
        case .authenticationFailed:
            return "packet failed authentication; it was altered in transit "
                + "or sealed with a different key that has the same id"
        }
    }
}

/// Why a keyring change was refused.
public struct KeyringError: Error, Hashable, CustomStringConvertible {
    private enum Base: Hashable {
        case notInstalled(UInt32)
        case cannotRemovePrimary(UInt32)
    }

    private let base: Base

    private init(_ base: Base) {
        self.base = base
    }

    /// The key with this id must be installed first.
    public static func notInstalled(_ id: UInt32) -> KeyringError {
        KeyringError(.notInstalled(id))
    }

    /// The key with this id is the primary and cannot be removed.
    public static func cannotRemovePrimary(_ id: UInt32) -> KeyringError {
        KeyringError(.cannotRemovePrimary(id))
    }

    public var description: String {
        switch self.base {
        case .notInstalled(let id):
            return "key \(ClusterKey.formatID(id)) is not installed; "
                + "install it on every node with `vigil keys install` before making it primary"
        case .cannotRemovePrimary(let id):
            return "key \(ClusterKey.formatID(id)) is the primary key and cannot be removed; "
                + "make another installed key primary with `vigil keys use` first"
        }
    }
}
