/// How incarnation numbers are laid out: the high 32 bits count the node's *lives*
/// (process starts), the low 32 bits its refutations within one life.
///
/// A failure certificate against any incarnation of a life is final for that life:
/// a refutation that crossed the certificate on the wire (same life, higher count)
/// does not bring the member back, only a restart does (a higher life). This is the
/// rule that keeps a gray node — one that refutes over and over through a lossy link —
/// from oscillating between failed and alive (memberlist oscillates here; Rapid's
/// removals are final). The agent starts each life above the last one it used
/// (persisted, or derived from wall-clock seconds at start).
public enum Incarnation {
    /// The first incarnation of life `life`.
    public static func first(life: UInt32) -> UInt64 {
        UInt64(life) << 32
    }

    /// The life an incarnation belongs to.
    public static func life(of incarnation: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: incarnation >> 32)
    }

    /// The first incarnation of the life after the one `incarnation` belongs to.
    public static func nextLife(after incarnation: UInt64) -> UInt64 {
        Self.first(life: Self.life(of: incarnation) &+ 1)
    }
}
