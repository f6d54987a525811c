/// K hash rings over the live view that decide who watches whom.
///
/// In ring *r* every member sits at `hash(name, r)`; the observer of subject *x* in
/// ring *r* is the first member before *x* that is neither *x* nor already chosen
/// for *x* in an earlier ring. Every node computes the same sets from the same view,
/// every member gets `min(K, N-1)` distinct observers, and each node watches about K
/// subjects whatever N is (compare Rapid's K-ring monitoring topology, Suresh et
/// al. 2018 §4.1). Removing one member changes only its ring neighbours' duties.
public struct ObserverRings: Sendable {
    public let k: Int
    private var rings: [[RingEntry]]
    private var names: Set<String>

    private struct RingEntry: Sendable {
        var hash: UInt64
        var name: String
    }

    public init<S: Sequence>(k: Int, members: S) where S.Element == String {
        self.k = max(1, k)
        self.names = Set(members)
        self.rings = []
        for r in 0..<self.k {
            var ring = self.names.map { RingEntry(hash: Self.position(of: $0, ring: r), name: $0) }
            ring.sort { ($0.hash, $0.name) < ($1.hash, $1.name) }
            self.rings.append(ring)
        }
    }

    /// Adds `name` to every ring (O(K·N) moves, no re-sort). No-op if present.
    public mutating func insert(_ name: String) {
        guard self.names.insert(name).inserted else { return }
        for r in 0..<self.k {
            let hash = Self.position(of: name, ring: r)
            let index = Self.lowerBound(self.rings[r], hash: hash, name: name)
            self.rings[r].insert(RingEntry(hash: hash, name: name), at: index)
        }
    }

    /// Adds every name of `names` not yet present: one sort per ring instead of one
    /// O(N) insertion per name (a joiner learns the whole cluster from one sync).
    /// The rings end up exactly as after inserting the names one by one.
    public mutating func insert<S: Sequence>(contentsOf names: S) where S.Element == String {
        var added: [String] = []
        for name in names where self.names.insert(name).inserted { added.append(name) }
        guard !added.isEmpty else { return }
        for r in 0..<self.k {
            self.rings[r].reserveCapacity(self.rings[r].count + added.count)
            for name in added { self.rings[r].append(RingEntry(hash: Self.position(of: name, ring: r), name: name)) }
            self.rings[r].sort { ($0.hash, $0.name) < ($1.hash, $1.name) }
        }
    }

    /// Removes `name` from every ring. No-op if absent.
    public mutating func remove(_ name: String) {
        guard self.names.remove(name) != nil else { return }
        for r in 0..<self.k {
            let index = Self.lowerBound(self.rings[r], hash: Self.position(of: name, ring: r), name: name)
            if index < self.rings[r].count && self.rings[r][index].name == name {
                self.rings[r].remove(at: index)
            }
        }
    }

    /// Members in the rings.
    public var count: Int { self.names.count }

    public func contains(_ name: String) -> Bool { self.names.contains(name) }

    /// Where `name` sits on ring `ring`.
    public static func position(of name: String, ring: Int) -> UInt64 {
        StableHash.hash(name, salt: UInt64(ring) &* 0x9E37_79B9_7F4A_7C15 &+ 0x5157)
    }

    /// The distinct observers of `subject` (which need not be in the rings itself).
    public func observers(of subject: String) -> [String] {
        let wanted = self.observerCount(of: subject)
        guard wanted > 0 else { return [] }
        var chosen = self.walk(to: subject, wanted: wanted, stoppingAt: nil).chosen
        // Rings may all land on already-chosen names in tiny clusters: fill from ring 0.
        if chosen.count < wanted, let ring = self.rings.first {
            for entry in ring where chosen.count < wanted {
                if entry.name != subject && !chosen.contains(entry.name) { chosen.append(entry.name) }
            }
        }
        return chosen
    }

    /// How many observers `subject` gets: K, or every other member when there are fewer.
    private func observerCount(of subject: String) -> Int {
        min(self.k, self.names.count - (self.names.contains(subject) ? 1 : 0))
    }

    /// The rings' part of `observers(of:)`: in ring r, the first member before `subject`
    /// that is neither it nor chosen in an earlier ring. Stops as soon as `stop` is
    /// chosen (`found`), which is all `isObserver` needs to know.
    private func walk(to subject: String, wanted: Int, stoppingAt stop: String?) -> (chosen: [String], found: Bool) {
        var chosen: [String] = []
        chosen.reserveCapacity(wanted)
        for r in 0..<self.k where chosen.count < wanted {
            let ring = self.rings[r]
            let pos = Self.lowerBound(ring, hash: Self.position(of: subject, ring: r), name: subject)
            var index = pos
            for _ in 0..<ring.count {
                index = index == 0 ? ring.count - 1 : index - 1
                let candidate = ring[index].name
                if candidate != subject && !chosen.contains(candidate) {
                    if candidate == stop { return (chosen, true) }
                    chosen.append(candidate)
                    break
                }
            }
        }
        return (chosen, false)
    }

    /// The subjects `observer` must watch: every member that has it among its observers.
    public func subjects(of observer: String) -> [String] {
        guard self.names.contains(observer) else { return [] }
        var candidates: [String] = []
        for r in 0..<self.k {
            let ring = self.rings[r]
            let me = Self.lowerBound(ring, hash: Self.position(of: observer, ring: r), name: observer)
            // In ring r a subject's walk back skips only the observers chosen for it in
            // rings 0..<r, so its observer there is among its r + 1 predecessors: the
            // subjects this node can get in ring r are among its r + 1 successors.
            var index = me
            for _ in 0..<min(r + 1, ring.count - 1) {
                index = (index + 1) % ring.count
                let name = ring[index].name
                if !candidates.contains(name) { candidates.append(name) }
            }
        }
        if self.names.count <= self.k + 1 {
            candidates = self.names.filter { $0 != observer }.sorted()
        }
        return candidates.filter { self.isObserver(observer, of: $0) }.sorted()
    }

    /// Whether `observer` is among `observers(of: subject)`: the same walk, stopped as
    /// soon as the answer is known (most candidates of `subjects(of:)` are not watched
    /// by it, and the walk is its whole cost).
    func isObserver(_ observer: String, of subject: String) -> Bool {
        let wanted = self.observerCount(of: subject)
        guard wanted > 0 else { return false }
        let walked = self.walk(to: subject, wanted: wanted, stoppingAt: observer)
        if walked.found { return true }
        // The rare fill from ring 0 (tiny clusters): as `observers(of:)` does it.
        guard walked.chosen.count < wanted else { return false }
        return self.observers(of: subject).contains(observer)
    }

    /// The first index whose entry is not below (`hash`, `name`). Hashes are compared
    /// first and names only on equal hashes, which is the tuple order, without
    /// copying (retaining) each entry's name on the way.
    private static func lowerBound(_ ring: [RingEntry], hash: UInt64, name: String) -> Int {
        ring.withUnsafeBufferPointer { entries in
            var low = 0
            var high = entries.count
            while low < high {
                let mid = (low &+ high) >> 1
                let entryHash = entries[mid].hash
                let below = entryHash != hash ? entryHash < hash : entries[mid].name < name
                if below {
                    low = mid &+ 1
                } else {
                    high = mid
                }
            }
            return low
        }
    }
}
