import CSodium

/// A 256-bit symmetric key that seals gossip for the whole cluster
/// (XChaCha20-Poly1305, see ``Keyring``).
///
/// Operators handle keys as standard base64 (44 characters), e.g. from
/// `openssl rand -base64 32`. `description` shows only the key id, so a key can be
/// logged or printed without leaking it.
public struct ClusterKey: Sendable {
    /// Length of a key in bytes.
    public static let byteCount = XChaCha20Poly1305.keyByteCount

    /// Prefix hashed in front of the key to derive its id, so the id can never be
    /// confused with a BLAKE2b hash of the key used anywhere else.
    static let idDomain: [UInt8] = Array("vigil.keyid.v1".utf8)

    /// The raw key. Treat as secret.
    public let bytes: [UInt8]

    /// A short public name for the key, carried in every sealed packet so a receiver
    /// picks the right key without trying all of them: the first four bytes
    /// (big-endian) of BLAKE2b-256("vigil.keyid.v1" ‖ key).
    ///
    /// Ids are not secret and not unique by construction; a keyring tolerates two
    /// keys with the same id (it tries both).
    public let id: UInt32

    /// - Returns: `nil` unless `bytes` holds exactly ``byteCount`` bytes.
    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.byteCount else { return nil }
        self.bytes = bytes
        self.id = Self.deriveID(bytes)
    }

    /// Parses a key written as standard (not URL-safe) padded base64. Leading and
    /// trailing whitespace, such as the newline at the end of a key file, is ignored.
    /// - Throws: ``KeyError`` saying what was wrong with `text`.
    public init(base64 text: String) throws(KeyError) {
        let trimmed = text.trimmingASCIIWhitespace()
        guard !trimmed.isEmpty else { throw .empty }
        // libsodium 1.0.18 decodes some non-ASCII bytes as base64 digits (its
        // character lookup sees them as negative `char`s), so vet the alphabet here.
        for (offset, scalar) in trimmed.unicodeScalars.enumerated() where !Self.isBase64(scalar) {
            throw .invalidCharacter(Character(scalar), position: offset + 1)
        }
        let encoded = Array(trimmed.utf8)
        // Enough room for any input, so decoding stops only on bad input, never on
        // space; a wrong-length key then decodes fully and is reported with its length.
        let capacity = encoded.count / 4 * 3 + 3
        var decoded = [UInt8](repeating: 0, count: capacity)
        var decodedCount = 0
        var stoppedAt = 0
        let rc = encoded.withUnsafeBufferPointer { source in
            source.withMemoryRebound(to: CChar.self) { chars -> Int32 in
                var end: UnsafePointer<CChar>? = nil
                let rc = sodium_base642bin(
                    &decoded, capacity, chars.baseAddress, chars.count, nil,
                    &decodedCount, &end, sodium_base64_VARIANT_ORIGINAL)
                stoppedAt = end.map { $0 - chars.baseAddress! } ?? chars.count
                return rc
            }
        }
        if stoppedAt < encoded.count {
            // Only ASCII is left, so a byte offset is a character position: libsodium
            // stopped at text after the padding, e.g. the fifth character of "AAAA=".
            throw .invalidCharacter(Character(Unicode.Scalar(encoded[stoppedAt])), position: stoppedAt + 1)
        }
        guard rc == 0 else { throw .badPadding }
        guard decodedCount == Self.byteCount else { throw .wrongLength(decodedCount) }
        self.init(bytes: Array(decoded.prefix(decodedCount)))!
    }

    /// The key as standard padded base64 (44 characters), the form ``init(base64:)``
    /// reads.
    public var base64: String {
        Sodium.ensureReady()
        // sodium_base64_ENCODED_LEN is a macro Swift cannot import: 4 characters per
        // 3 bytes, padded, plus the terminating NUL.
        let capacity = (self.bytes.count + 2) / 3 * 4 + 1
        var text = [CChar](repeating: 0, count: capacity)
        self.bytes.withUnsafeBufferPointer { raw in
            _ = sodium_bin2base64(&text, capacity, raw.baseAddress, raw.count, sodium_base64_VARIANT_ORIGINAL)
        }
        return String(decoding: text.prefix(capacity - 1).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Makes a new random key.
    public static func generate() -> ClusterKey {
        ClusterKey(bytes: SecureRandom.bytes(Self.byteCount))!
    }

    /// The id as eight lowercase hex digits, the way logs and errors show it.
    public static func formatID(_ id: UInt32) -> String {
        String(id, radix: 16).leftPadded(to: 8)
    }

    private static func isBase64(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "A"..."Z", "a"..."z", "0"..."9", "+", "/", "=": true
        default: false
        }
    }

    private static func deriveID(_ key: [UInt8]) -> UInt32 {
        Sodium.ensureReady()
        let input = Self.idDomain + key
        var digest = [UInt8](repeating: 0, count: 32)
        let rc = crypto_generichash(&digest, digest.count, input, UInt64(input.count), nil, 0)
        precondition(rc == 0, "BLAKE2b-256 failed")
        return digest.prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
    }
}

extension ClusterKey: Hashable {
    /// Compares in constant time, so comparing keys leaks nothing through timing.
    public static func == (lhs: ClusterKey, rhs: ClusterKey) -> Bool {
        lhs.bytes.count == rhs.bytes.count && sodium_memcmp(lhs.bytes, rhs.bytes, lhs.bytes.count) == 0
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.bytes)
    }
}

extension ClusterKey: CustomStringConvertible, CustomReflectable {
    public var description: String {
        "ClusterKey(id: \(Self.formatID(self.id)))"
    }

    /// Keeps the key bytes out of `dump` and debugger summaries.
    public var customMirror: Mirror {
        Mirror(self, children: ["id": Self.formatID(self.id)])
    }
}

/// Why a cluster key could not be read.
public struct KeyError: Error, Hashable, CustomStringConvertible {
    private enum Base: Hashable {
        case empty
        case invalidCharacter(Character, position: Int)
        case badPadding
        case wrongLength(Int)
    }

    private let base: Base

    private init(_ base: Base) {
        self.base = base
    }

    /// The text was empty or only whitespace.
    public static let empty = KeyError(.empty)

    /// The text holds a character that is not standard base64, e.g. `-` or `_` from
    /// URL-safe base64. `position` counts Unicode scalars from 1, after trimming.
    public static func invalidCharacter(_ character: Character, position: Int) -> KeyError {
        KeyError(.invalidCharacter(character, position: position))
    }

    /// The `=` padding at the end is missing or wrong, or the text was cut short.
    public static let badPadding = KeyError(.badPadding)

    /// The text is valid base64 but decodes to `byteCount` bytes instead of 32.
    public static func wrongLength(_ byteCount: Int) -> KeyError {
        KeyError(.wrongLength(byteCount))
    }

    private static let advice =
        "a cluster key is 32 random bytes in standard base64 (44 characters ending in `=`); "
        + "make one with `openssl rand -base64 32`"

    public var description: String {
        switch self.base {
        case .empty:
            return "key is empty; \(Self.advice)"
        case .invalidCharacter(let character, let position):
            return "key is not valid base64: unexpected character \"\(character)\" at position \(position); "
                + "\(Self.advice)"
        case .badPadding:
            return "key is not valid base64: the `=` padding at the end is missing or wrong, "
                + "or the key was cut short; \(Self.advice)"
        case .wrongLength(let count):
            return "key must be 32 bytes of base64, got \(count) byte\(count == 1 ? "" : "s"); "
                + "make one with `openssl rand -base64 32`"
        }
    }
}

extension String {
    func trimmingASCIIWhitespace() -> Substring {
        let isSpace: (Character) -> Bool = {
            $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n"
        }
        guard let first = self.firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = self.lastIndex(where: { !isSpace($0) })!
        return self[first...last]
    }
}
