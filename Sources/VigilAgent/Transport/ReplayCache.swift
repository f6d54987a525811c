/// The nonces of packets opened recently, so a replayed packet is dropped even while
/// its timestamp is still fresh.
///
/// A nonce must be remembered while its packet would pass the freshness check, i.e.
/// until `timestamp + window`; after that the timestamp alone refuses it. Entries
/// live in a ring in arrival order and are forgotten from the oldest end once they
/// expire.
///
/// Bounded: at most `capacity` nonces. Under a flood of more than `capacity` valid
/// packets within one freshness window, the oldest entries are evicted before they
/// expire, and a packet replayed after its nonce was evicted is accepted again
/// (`evictedEarly` counts how often that could have happened). Only a holder of the
/// cluster key can make valid packets, so this trades a bounded memory footprint
/// (about 2 MiB for the default 65,536) against a flood no outsider can cause.
struct ReplayCache {
    private struct Entry {
        var nonce: Nonce
        /// Wall-clock ms after which the packet would be stale anyway.
        var expiry: UInt64
    }

    let capacity: Int
    private var ring: [Entry] = []
    /// Index of the oldest entry in `ring`.
    private var start = 0
    private var count = 0
    private var seen: Set<Nonce> = []

    /// Entries dropped for room before they expired.
    private(set) var evictedEarly: UInt64 = 0

    /// - Parameter capacity: most nonces held; at least 1.
    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Nonces held now.
    var size: Int { self.count }

    /// Remembers `nonce` until `expiry`.
    ///
    /// - Parameters:
    ///   - nonce: the packet's nonce.
    ///   - expiry: wall-clock ms from which the packet is stale (its timestamp plus
    ///     the freshness window).
    ///   - now: the current wall-clock ms; entries that expired before it are dropped.
    /// - Returns: `false` if `nonce` is already held: the packet is a replay.
    mutating func insert(_ nonce: Nonce, expiry: UInt64, now: UInt64) -> Bool {
        self.forgetExpired(now: now)
        // Inserted at once, so a new nonce is hashed once here, not looked up first.
        guard self.seen.insert(nonce).inserted else { return false }
        if self.ring.count < self.capacity {
            // Still filling: `start` is 0 and nothing has wrapped.
            self.ring.append(Entry(nonce: nonce, expiry: expiry))
        } else {
            if self.count == self.capacity {
                self.removeOldest()
                self.evictedEarly += 1
            }
            self.ring[(self.start + self.count) % self.capacity] = Entry(nonce: nonce, expiry: expiry)
        }
        self.count += 1
        return true
    }

    /// Whether `nonce` is held (for tests).
    func contains(_ nonce: Nonce) -> Bool {
        self.seen.contains(nonce)
    }

    private mutating func forgetExpired(now: UInt64) {
        // Arrival order is not expiry order (senders' clocks differ), so an entry
        // behind a longer-lived one waits for it; that only keeps it a little longer.
        while self.count > 0, self.ring[self.start].expiry < now {
            self.removeOldest()
        }
    }

    private mutating func removeOldest() {
        self.seen.remove(self.ring[self.start].nonce)
        self.start = (self.start + 1) % self.capacity
        self.count -= 1
    }
}
