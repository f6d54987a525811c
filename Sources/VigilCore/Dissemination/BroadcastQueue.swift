/// Updates waiting to ride on outgoing packets (SWIM §4.1 infection-style gossip).
///
/// Order: priority class first (own refutation, then failure news, then the rest),
/// then fewest transmissions, then newest. Each update is sent at most
/// `limit` times, where the caller derives `limit` from λ·⌈log10(N+1)⌉ (memberlist's
/// retransmit rule). A newer update with the same key replaces the older one.
///
/// Buckets indexed by (priority, transmissions) with lazy deletion keep selection at
/// O(updates taken), whatever the queue length.
public struct BroadcastQueue: Sendable {
    /// Dissemination priority: lower goes first.
    public enum Priority: Int, Sendable, CaseIterable, Comparable {
        /// This node's own `alive` (refutation) or `left`.
        case own = 0
        /// Suspicions, votes, departures of others.
        case failureNews = 1
        /// Joins, tag changes, everything else.
        case routine = 2

        public static func < (lhs: Priority, rhs: Priority) -> Bool {
            lhs.rawValue < rhs.rawValue
        }
    }

    /// What identifies an update for replacement: news about the same thing.
    public enum Key: Hashable, Sendable {
        /// Liveness of a member (alive / suspect by one observer / left).
        case member(String)
        /// One observer's suspicion of a subject.
        case suspicion(subject: String, observer: String)
        /// One observer's vote on a subject.
        case vote(subject: String, observer: String)
        /// The cluster keyring: only the newest record is worth sending.
        case keyring
        /// One member's key report.
        case keyReport(String)
        /// A failed node's HA record, per phase: each step is news for every member's
        /// journal (a `fenced` must not be dropped unsent because `recovering`
        /// followed at once); a newer record of the same phase replaces the older.
        case ha(node: String, phase: HAPhase)
    }

    private struct Item: Sendable {
        var update: Update
        var size: Int
        var generation: UInt64
        var priority: Priority
        var transmissions: Int
    }

    private struct Slot: Sendable {
        var key: Key
        var generation: UInt64
    }

    /// Highest transmission count tracked per bucket row; limits above are clamped.
    public static let maxTransmissions = 64

    private var items: [Key: Item] = [:]
    /// buckets[priority * (maxTransmissions + 1) + transmissions], newest last.
    private var buckets: [[Slot]]
    private var nextGeneration: UInt64 = 0

    public init() {
        self.buckets = Array(repeating: [], count: Priority.allCases.count * (Self.maxTransmissions + 1))
    }

    /// Number of live (not yet exhausted) updates waiting.
    public var count: Int { self.items.count }

    public var isEmpty: Bool { self.items.isEmpty }

    /// Queues `update`, replacing any older update with the same key.
    public mutating func enqueue(_ update: Update, key: Key, priority: Priority) {
        self.nextGeneration &+= 1
        let item = Item(
            update: update, size: update.encodedSize, generation: self.nextGeneration, priority: priority,
            transmissions: 0)
        self.items[key] = item
        self.buckets[self.bucketIndex(priority, 0)].append(Slot(key: key, generation: item.generation))
    }

    /// Removes the update with this key, if any.
    public mutating func remove(_ key: Key) {
        self.items[key] = nil  // its slot is skipped lazily
    }

    /// Whether an update with this key is waiting.
    public func contains(_ key: Key) -> Bool {
        self.items[key] != nil
    }

    /// Takes the most important updates that fit in `budget` bytes, counting one
    /// transmission for each; updates sent `limit` times leave the queue.
    public mutating func take(budget: Int, limit: Int) -> [Update] {
        guard !self.items.isEmpty, budget > 0 else { return [] }
        let limit = max(1, min(limit, Self.maxTransmissions))
        var remaining = budget
        var misses = 0
        var taken: [Update] = []
        var moved: [(Slot, Int)] = []  // re-bucketed after the scan, so an item is taken once
        for index in self.buckets.indices where !self.buckets[index].isEmpty {
            let bucket = self.buckets[index]
            var kept: [Slot] = []  // newest first while scanning
            var full = false
            for slot in bucket.reversed() {  // newest first
                if full {
                    kept.append(slot)
                    continue
                }
                guard var item = self.items[slot.key], item.generation == slot.generation else {
                    continue  // replaced or removed: drop the stale slot
                }
                if item.size > remaining {
                    kept.append(slot)
                    misses += 1
                    // A run of misses means the packet is as good as full.
                    full = misses >= Self.missesBeforeFull
                    continue
                }
                remaining -= item.size
                taken.append(item.update)
                item.transmissions += 1
                if item.transmissions >= limit {
                    self.items[slot.key] = nil
                } else {
                    self.items[slot.key] = item
                    moved.append((slot, self.bucketIndex(item.priority, item.transmissions)))
                }
                full = remaining < Self.smallestUpdate
            }
            self.buckets[index] = kept.reversed()
            if full { break }
        }
        for (slot, index) in moved {
            self.buckets[index].append(slot)
        }
        return taken
    }

    /// A lower bound on any update's encoded size, to stop scanning early.
    private static let smallestUpdate = 16
    /// Updates in a row that did not fit before the packet counts as full.
    private static let missesBeforeFull = 8

    private func bucketIndex(_ priority: Priority, _ transmissions: Int) -> Int {
        priority.rawValue * (Self.maxTransmissions + 1) + min(transmissions, Self.maxTransmissions)
    }
}
