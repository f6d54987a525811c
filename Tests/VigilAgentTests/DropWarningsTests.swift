import Testing

@testable import VigilAgent

/// Drops that point at the set-up (a wrong key, a clock far off, an incompatible
/// release) are said at `warning`, at most once a minute per reason, with how many.
@Suite struct DropWarningsTests {
    @Test func aBadSealWarnsAtOnceThenOnceAMinuteWithTheCount() {
        let log = CapturedLog()
        let warnings = DropWarnings(logger: log.logger)
        let start = ContinuousClock.now
        warnings.note(.badSeal, peer: "10.0.0.9:7946", now: start)
        #expect(log.text.components(separatedBy: "\n").count == 1)
        #expect(log.text.contains("warning transport.dropping"))
        #expect(log.text.contains("drop.count=1") && log.text.contains("peer.address=10.0.0.9:7946"))
        #expect(log.text.contains("old or wrong cluster key"))
        for second in 1...4 {
            warnings.note(.badSeal, peer: "10.0.0.8:7946", now: start + .seconds(second * 10))
        }
        #expect(log.text.components(separatedBy: "\n").count == 1, "\(log.text)")
        warnings.note(.badSeal, peer: "10.0.0.8:7946", now: start + .seconds(61))
        let lines = log.text.components(separatedBy: "\n")
        #expect(lines.count == 2)
        #expect(lines.last?.contains("drop.count=5") == true, "\(lines)")
        #expect(lines.last?.contains("peer.address=10.0.0.8:7946") == true, "\(lines)")
    }

    @Test func eachReasonHasItsOwnMinuteAndNetworkDropsStayQuiet() {
        let log = CapturedLog()
        let warnings = DropWarnings(logger: log.logger)
        let now = ContinuousClock.now
        warnings.note(.badSeal, peer: nil, now: now)
        warnings.note(.stale, peer: nil, now: now)
        warnings.note(.malformed, peer: nil, now: now)
        // Replays, oversize packets and a full buffer are the network's or load's doing:
        // counted, not warned about.
        warnings.note(.replay, peer: nil, now: now)
        warnings.note(.oversize, peer: nil, now: now)
        warnings.note(.bufferFull, peer: nil, now: now)
        let lines = log.text.components(separatedBy: "\n")
        #expect(lines.count == 3, "\(lines)")
        #expect(lines.contains { $0.contains("drop.reason=stale") && $0.contains("NTP") })
        #expect(lines.contains { $0.contains("drop.reason=malformed") && $0.contains("incompatible release") })
        #expect(lines.allSatisfy { $0.contains("peer.address=unknown") })
    }
}
