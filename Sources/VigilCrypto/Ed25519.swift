import CSodium

/// An Ed25519 public key (32 bytes): a member's identity on the wire.
public struct PublicKey: Hashable, Sendable, CustomStringConvertible {
    public static let byteCount = 32
    public let bytes: [UInt8]

    /// - Returns: `nil` unless `bytes` holds exactly 32 bytes.
    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.byteCount else { return nil }
        self.bytes = bytes
    }

    /// Checks a detached Ed25519 signature; never traps on any input.
    public func isValidSignature(_ signature: Signature, for message: [UInt8]) -> Bool {
        Sodium.ensureReady()
        guard signature.bytes.count == Signature.byteCount else { return false }
        return signature.bytes.withUnsafeBufferPointer { sig in
            message.withUnsafeBufferPointer { msg in
                self.bytes.withUnsafeBufferPointer { pk in
                    crypto_sign_verify_detached(
                        sig.baseAddress!, msg.baseAddress, UInt64(msg.count), pk.baseAddress!) == 0
                }
            }
        }
    }

    public var description: String {
        self.bytes.prefix(6).map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }
}

/// A detached Ed25519 signature (64 bytes).
public struct Signature: Hashable, Sendable {
    public static let byteCount = 64
    public let bytes: [UInt8]

    /// - Returns: `nil` unless `bytes` holds exactly 64 bytes.
    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.byteCount else { return nil }
        self.bytes = bytes
    }
}

/// An Ed25519 key pair: a node's identity. Signing is pure computation, so the
/// protocol core may hold one; making a key from a seed is deterministic, which is
/// how the simulator gives every simulated node a repeatable identity.
public struct SigningKey: Sendable {
    public static let seedByteCount = 32
    public let publicKey: PublicKey
    private let secret: [UInt8]

    /// Derives the key pair from a 32-byte seed.
    /// - Returns: `nil` unless `seed` holds exactly 32 bytes.
    public init?(seed: [UInt8]) {
        guard seed.count == Self.seedByteCount else { return nil }
        Sodium.ensureReady()
        var pk = [UInt8](repeating: 0, count: PublicKey.byteCount)
        var sk = [UInt8](repeating: 0, count: Int(crypto_sign_SECRETKEYBYTES))
        let rc = crypto_sign_seed_keypair(&pk, &sk, seed)
        guard rc == 0, let publicKey = PublicKey(bytes: pk) else { return nil }
        self.publicKey = publicKey
        self.secret = sk
    }

    /// The 32-byte seed this key was made from (what a data directory stores).
    public var seed: [UInt8] {
        Array(self.secret.prefix(Self.seedByteCount))
    }

    /// Signs `message`, returning a detached signature.
    public func sign(_ message: [UInt8]) -> Signature {
        Sodium.ensureReady()
        var sig = [UInt8](repeating: 0, count: Signature.byteCount)
        var sigLen: UInt64 = 0
        _ = message.withUnsafeBufferPointer { msg in
            crypto_sign_detached(&sig, &sigLen, msg.baseAddress, UInt64(msg.count), self.secret)
        }
        return Signature(bytes: sig)!
    }

    /// Makes a new key pair from a random seed (a node's identity at first start).
    public static func generate() -> SigningKey {
        SigningKey(seed: SecureRandom.bytes(Self.seedByteCount))!
    }
}

extension SigningKey: CustomStringConvertible, CustomReflectable {
    /// Shows only the public key, so printing or logging a key never leaks the secret.
    public var description: String {
        "SigningKey(publicKey: \(self.publicKey))"
    }

    /// Keeps the secret out of `dump` and debugger summaries.
    public var customMirror: Mirror {
        Mirror(self, children: ["publicKey": self.publicKey])
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        self.count >= width ? self : String(repeating: "0", count: width - self.count) + self
    }
}
