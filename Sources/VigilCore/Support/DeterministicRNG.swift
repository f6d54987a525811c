/// A small, fast, seedable generator (xoshiro256**, Blackman & Vigna 2018).
///
/// The core draws every random choice from one of these, injected at creation, so a
/// simulator run is repeatable from its seed. The agent seeds it from the system's
/// generator at start.
public struct DeterministicRNG: RandomNumberGenerator, Sendable, Equatable {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    /// Expands `seed` with splitmix64, as the xoshiro authors recommend.
    public init(seed: UInt64) {
        var sm = seed
        func splitmix() -> UInt64 {
            sm &+= 0x9E37_79B9_7F4A_7C15
            var z = sm
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        self.s0 = splitmix()
        self.s1 = splitmix()
        self.s2 = splitmix()
        self.s3 = splitmix()
    }

    public mutating func next() -> UInt64 {
        let result = rotl(self.s1 &* 5, 7) &* 9
        let t = self.s1 << 17
        self.s2 ^= self.s0
        self.s3 ^= self.s1
        self.s1 ^= self.s2
        self.s0 ^= self.s3
        self.s2 ^= t
        self.s3 = rotl(self.s3, 45)
        return result
    }

    /// A uniformly distributed `Double` in `[0, 1)`.
    public mutating func nextUnit() -> Double {
        Double(self.next() >> 11) * 0x1.0p-53
    }

    /// A new generator whose stream is independent of this one's (for per-node seeds).
    public mutating func fork() -> DeterministicRNG {
        DeterministicRNG(seed: self.next())
    }

    @inline(__always)
    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 - k))
    }
}
