import CSodium
import Synchronization

/// AEAD nonces for ``Keyring``, cut from a buffer of random bytes that is refilled
/// ``refillBytes`` at a time.
///
/// `randombytes_buf` for every nonce was one `getrandom(2)` system call per sealed
/// packet, a measurable share of an agent answering tens of thousands of pings a
/// second. A refill instead takes a fresh 32-byte seed from the kernel (one
/// `getrandom`) and expands it with ChaCha20 (`randombytes_buf_deterministic`), the
/// construction libsodium's own user-space generator uses: one system call per 170
/// nonces. What a nonce must be does not change:
/// - unique: every refill starts from a new kernel seed, and each byte is handed out
///   once (the offset only moves forward under the lock, and a refill overwrites the
///   whole buffer), so two nonces collide no more often than two draws of 192
///   random bits;
/// - unpredictable: ChaCha20's keystream under a secret random key is
///   indistinguishable from random, so nonces already sent say nothing about the
///   next ones; the seed and the unspent bytes live only in this process's memory,
///   next to the cluster key itself.
///
/// The one way to reuse buffered bytes would be `fork` without `exec`, which would
/// give parent and child the same buffer; the agent never forks that way (drivers
/// and hooks are spawned, and exec at once).
enum NoncePool {
    /// Bytes fetched from the kernel per refill: 170 nonces of 24 bytes.
    static let refillBytes = 4096

    private static let pool = Mutex(Buffer())

    private struct Buffer {
        var bytes = [UInt8](repeating: 0, count: NoncePool.refillBytes)
        /// The first byte not handed out yet; `refillBytes` means empty.
        var next = NoncePool.refillBytes
    }

    /// Fills `nonce` (at most ``refillBytes`` bytes) with random bytes never handed
    /// out before.
    static func fill(_ nonce: UnsafeMutableRawBufferPointer) {
        precondition(nonce.count <= Self.refillBytes, "a nonce of \(nonce.count) bytes is longer than the pool")
        guard let destination = nonce.baseAddress, nonce.count > 0 else { return }
        Sodium.ensureReady()
        Self.pool.withLock { pool in
            pool.bytes.withUnsafeMutableBytes { bytes in
                if pool.next + nonce.count > bytes.count {
                    Self.refill(bytes)
                    pool.next = 0
                }
                destination.copyMemory(from: bytes.baseAddress! + pool.next, byteCount: nonce.count)
            }
            pool.next += nonce.count
        }
    }

    /// Fills `bytes` with ChaCha20's keystream under a seed fresh from the kernel.
    private static func refill(_ bytes: UnsafeMutableRawBufferPointer) {
        var seed = [UInt8](repeating: 0, count: Int(randombytes_SEEDBYTES))
        seed.withUnsafeMutableBytes { seed in
            randombytes_buf(seed.baseAddress!, seed.count)
            randombytes_buf_deterministic(
                bytes.baseAddress!, bytes.count, seed.baseAddress!.assumingMemoryBound(to: UInt8.self))
            sodium_memzero(seed.baseAddress!, seed.count)
        }
    }
}
