import CSodium

/// Cryptographically secure randomness from libsodium (`randombytes_buf`, which reads
/// `getrandom(2)` on Linux).
///
/// For key material and AEAD nonces in the shell. The protocol core never calls
/// this: it takes an injected generator so the simulator can replay a run from a
/// seed.
public enum SecureRandom {
    /// Returns `count` random bytes.
    /// - Parameters:
    ///   - count: how many bytes to return; must not be negative.
    public static func bytes(_ count: Int) -> [UInt8] {
        precondition(count >= 0, "SecureRandom.bytes needs a count >= 0, got \(count)")
        Sodium.ensureReady()
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initializedCount in
            if let base = buffer.baseAddress, count > 0 {
                randombytes_buf(base, count)
            }
            initializedCount = count
        }
    }

    /// Returns a uniformly random 64-bit value.
    public static func uint64() -> UInt64 {
        Sodium.ensureReady()
        var value: UInt64 = 0
        withUnsafeMutableBytes(of: &value) { raw in
            randombytes_buf(raw.baseAddress!, raw.count)
        }
        return value
    }
}
