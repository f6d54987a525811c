import VigilCore

/// Which key id each peer last sealed an accepted packet with, so that answers go
/// out under a key the peer can open (see ``EnvelopeSealer/seal(_:advertised:to:)``).
///
/// Bounded: past `capacity` peers an arbitrary entry is forgotten, which only means
/// that peer is answered with the primary key until it sends again.
struct PeerKeyMemory: Sendable {
    /// Enough for every member of a large cluster, at about 40 bytes each.
    static let defaultCapacity = 16_384

    let capacity: Int
    private var keyIDs: [Address: UInt32] = [:]

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    var count: Int { self.keyIDs.count }

    func keyID(for peer: Address) -> UInt32? {
        self.keyIDs[peer]
    }

    mutating func remember(_ keyID: UInt32, for peer: Address) {
        // The count first: below capacity (always, but in a flood of addresses) this is
        // one hash of the address per packet, not two.
        if self.keyIDs.count >= self.capacity, self.keyIDs[peer] == nil {
            self.keyIDs.remove(at: self.keyIDs.startIndex)
        }
        self.keyIDs[peer] = keyID
    }
}
