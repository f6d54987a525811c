import CSodium
import Synchronization

/// AEAD nonces for ``Keyring``, cut from a buffer of kernel randomness that is
/// refilled ``refillBytes`` at a time.
///
/// `randombytes_buf` for every nonce was one `getrandom(2)` system call per sealed
/// packet, a measurable share of an agent answering tens of thousands of pings a
/// second. Drawing 4 KiB at once makes that one call per 170 nonces and changes
/// nothing a nonce must be:
/// - unique: every byte comes from the kernel's CSPRNG, as before, and is handed out
///   once (the offset only moves forward under the lock, and a refill overwrites
///   the whole buffer), so two nonces collide no more often than two draws of 192
///   random bits;
/// - unpredictable: nonces already sent say nothing about the next ones (they are
///   independent kernel output), and the buffer holds only what nobody has seen yet,
///   in this process's memory, next to the cluster key itself.
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
                    randombytes_buf(bytes.baseAddress!, bytes.count)
                    pool.next = 0
                }
                destination.copyMemory(from: bytes.baseAddress! + pool.next, byteCount: nonce.count)
            }
            pool.next += nonce.count
        }
    }
}
