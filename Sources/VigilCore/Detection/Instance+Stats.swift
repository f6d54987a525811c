extension Instance {
    /// Round-trip samples kept until the shell drains them. The agent drains every
    /// second; at ~20 probes a second this is ten seconds of headroom. A shell that
    /// never drains (the simulator) pays one comparison per ack once it is full.
    public static let roundTripCapacity = 256

    /// Ping → ack times of this node's probes since the last call, oldest first, at
    /// most `roundTripCapacity` (later samples are dropped and counted in
    /// `stats.roundTripsDropped`). An ack that came through relays, or after the
    /// direct timeout, counts with its whole round trip.
    public mutating func drainRoundTrips() -> [Duration] {
        guard !self.roundTrips.isEmpty else { return [] }
        let samples = self.roundTrips
        // One fresh buffer of the same capacity, rather than regrowing from empty.
        self.roundTrips.removeAll(keepingCapacity: true)
        return samples
    }

    /// The subjects this node observes that are `suspect` here, with their phi at
    /// `now`, by name. At most the number of subjects this node observes (about K).
    public func suspectPhis(now: Instant) -> [SuspectPhi] {
        var result: [SuspectPhi] = []
        for name in self.subjects where self.suspects.contains(name) {
            guard let watch = self.watches[name] else { continue }
            result.append(SuspectPhi(name: name, phi: watch.detector.phi(at: now)))
        }
        return result
    }

    /// How many members this node knows in each status, itself included.
    public var memberCounts: [MemberStatus: Int] {
        var counts: [MemberStatus: Int] = [self.me.status: 1]
        for entry in self.entries.values {
            counts[entry.member.status, default: 0] += 1
        }
        return counts
    }

    mutating func recordRoundTrip(_ sample: Duration) {
        guard self.roundTrips.count < Self.roundTripCapacity else {
            self.stats.roundTripsDropped &+= 1
            return
        }
        self.roundTrips.append(sample)
    }
}
