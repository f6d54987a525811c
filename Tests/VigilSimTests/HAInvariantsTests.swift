import Testing
import VigilCore
import VigilSim

/// The HA invariant checker on hand-written traces: each check passes a run that keeps
/// its rule and catches one that breaks it.
@Suite struct HAInvariantsTests {
    static let names = ["n0", "n1", "n2", "n3", "n4"]

    static func at(_ seconds: Int) -> Instant { Instant(nanoseconds: Int64(seconds) * 1_000_000_000) }

    /// n0 leads term 1; n4 crashes at 10 s; n0 certifies, fences, the BMC powers it off,
    /// n0 records it fenced and recovers it; the run ends at 100 s.
    static func goodTrace() -> HATrace {
        var trace = HATrace(names: names)
        trace.events = [
            .init(at: at(1), .leaderWon(node: 0, term: 1)),
            .init(at: at(10), .crashed(node: 4, life: 1)),
            .init(at: at(13), .certified(node: 0, subject: 4, life: 1, validVotes: 3)),
            .init(at: at(14), .fenceOrdered(by: 0, target: 4, life: 1, term: 1, targetLive: false)),
            .init(at: at(16), .poweredOff(target: 4, life: 1)),
            .init(at: at(16), .fenceRecorded(by: 0, target: 4, life: 1, term: 1)),
            .init(at: at(16), .recoveryOrdered(by: 0, target: 4, life: 1, term: 1)),
            .init(at: at(17), .recoveryReceived(target: 4, life: 1)),
        ]
        trace.end = at(100)
        return trace
    }

    /// n0 (leading term 1) certifies `target` (life 1) at `second`, fences it a second
    /// later, the BMC powers it off two seconds after that, and the cloud takes its
    /// recovery a second later still.
    static func fencedAndRecovered(_ target: Int, certifiedAt second: Int, live: Bool) -> [HATrace.Event] {
        [
            .init(at: at(second), .certified(node: 0, subject: target, life: 1, validVotes: 3)),
            .init(at: at(second + 1), .fenceOrdered(by: 0, target: target, life: 1, term: 1, targetLive: live)),
            .init(at: at(second + 3), .poweredOff(target: target, life: 1)),
            .init(at: at(second + 3), .fenceRecorded(by: 0, target: target, life: 1, term: 1)),
            .init(at: at(second + 3), .recoveryOrdered(by: 0, target: target, life: 1, term: 1)),
            .init(at: at(second + 4), .recoveryReceived(target: target, life: 1)),
        ]
    }

    static func kinds(_ trace: HATrace) -> [HAInvariants.Kind] {
        HAInvariants.check(trace, settle: .seconds(40)).violations.map(\.kind)
    }

    /// `goodTrace` with the event at `index` replaced (or removed when `nil`).
    static func edited(_ index: Int, _ kind: HATrace.Kind?) -> HATrace {
        var trace = self.goodTrace()
        if let kind { trace.events[index].kind = kind } else { trace.events.remove(at: index) }
        return trace
    }

    @Test func aRunThatKeepsEveryRulePasses() {
        let result = HAInvariants.check(Self.goodTrace(), settle: .seconds(40))
        #expect(result.violations.isEmpty, "\(result.violations)")
        #expect(result.fenceCompletions == 1)
        #expect(result.recoveriesAccepted == 1)
        #expect(result.livesChecked == 1)
        #expect(result.fencesOfLiveNodes.isEmpty)
    }

    @Test func aFenceWithoutAValidCertificateOfThatLifeIsCaught() {
        #expect(Self.kinds(Self.edited(2, nil)) == [.fenceWithoutCertificate])
        // One valid vote is no quorum.
        #expect(Self.kinds(Self.edited(2, .certified(node: 0, subject: 4, life: 1, validVotes: 1))) == [.fenceWithoutCertificate])
        // A certificate of an earlier life, or held by another node, does not count.
        #expect(Self.kinds(Self.edited(2, .certified(node: 0, subject: 4, life: 0, validVotes: 3))) == [.fenceWithoutCertificate])
        #expect(Self.kinds(Self.edited(2, .certified(node: 1, subject: 4, life: 1, validVotes: 3))) == [.fenceWithoutCertificate])
    }

    @Test func aFenceByANodeNotLeadingTheNewestTermIsCaught() {
        // n0 never won term 1.
        #expect(Self.kinds(Self.edited(0, .leaderWon(node: 1, term: 1))) == [.fenceByNonLeader])
        // n0 won term 1, but n1 already won term 2 when n0 fenced in term 1.
        var stale = Self.goodTrace()
        stale.events.insert(.init(at: Self.at(12), .leaderWon(node: 1, term: 2)), at: 2)
        #expect(Self.kinds(stale) == [.fenceByNonLeader])
    }

    @Test func twoLeadersInOneTermAreCaught() {
        var trace = Self.goodTrace()
        trace.events.insert(.init(at: Self.at(2), .leaderWon(node: 2, term: 1)), at: 1)
        #expect(Self.kinds(trace) == [.twoLeadersInTerm])
    }

    @Test func aFenceFromTheMinoritySideWhileCutOffIsCaught() {
        var trace = Self.goodTrace()
        // n0 and n1 cut off from 12 s to 20 s: n0 fences from the minority side.
        let cut = HATrace.Partition(
            group: [true, true, false, false, false], from: Self.at(12), healedAt: Self.at(20), graceUntil: Self.at(50))
        trace.partitions = [cut]
        #expect(Self.kinds(trace).contains(.minorityFence))
        // The same cut, healed before the fence: fine.
        trace.partitions[0].healedAt = Self.at(13)
        #expect(!Self.kinds(trace).contains(.minorityFence))
        // A cut-off majority (three of five) is not the minority side.
        trace.partitions = [HATrace.Partition(
            group: [true, true, true, false, false], from: Self.at(12), healedAt: Self.at(20), graceUntil: Self.at(50))]
        #expect(!Self.kinds(trace).contains(.minorityFence))
    }

    @Test func aLeaseFromBeforeTheCutCoversACertificateFromBeforeItForOneLeaseOnly() {
        // n0 and n1 are cut off at 13.5 s, after n0's certificate (13 s): n0's fence at
        // 14 s is under the lease it held before the cut (3 s), not 4 s into the cut.
        var trace = Self.goodTrace()
        trace.partitions = [HATrace.Partition(
            group: [true, true, false, false, false], from: Instant(nanoseconds: 13_500_000_000),
            healedAt: Self.at(20), graceUntil: Self.at(50))]
        func kinds(lease: Duration) -> [HAInvariants.Kind] {
            HAInvariants.check(trace, settle: .seconds(40), lease: lease).violations.map(\.kind)
        }
        #expect(kinds(lease: .seconds(3)).isEmpty, "\(kinds(lease: .seconds(3)))")
        #expect(kinds(lease: .zero) == [.minorityFence])
        trace.events[3].at = Self.at(18)
        #expect(kinds(lease: .seconds(3)).contains(.minorityFence))
        // A certificate that came after the cut never counts.
        trace.events[3].at = Self.at(14)
        trace.partitions[0].from = Self.at(12)
        #expect(kinds(lease: .seconds(3)) == [.minorityFence])
    }

    @Test func aSideWithMostOfTheVotersLeftMayFenceThoughMostNodesAreElsewhere() {
        // After goodTrace (n4 fenced and down), n3 crashes and is fenced too; then n0 and
        // n1 are cut off from n2 and the two dead nodes. Two of the three voters left are
        // a majority: n0 may fence n2, which is cut off alone.
        var trace = Self.goodTrace()
        trace.events.append(.init(at: Self.at(20), .crashed(node: 3, life: 1)))
        trace.events += Self.fencedAndRecovered(3, certifiedAt: 23, live: false)
        trace.events += Self.fencedAndRecovered(2, certifiedAt: 35, live: true)
        trace.partitions = [HATrace.Partition(
            group: [true, true, false, false, false], from: Self.at(30), healedAt: Self.at(60), graceUntil: Self.at(70))]
        #expect(Self.kinds(trace).isEmpty, "\(Self.kinds(trace))")
        // Without n3's fence, n0 and n1 are two of four voters: no majority.
        trace.events.removeAll { event in
            switch event.kind {
            case .fenceRecorded(_, let target, _, _), .poweredOff(let target, _): target == 3
            default: false
            }
        }
        #expect(Self.kinds(trace).contains(.minorityFence))
    }

    @Test func aLiveNodeFencedIsCaughtUnlessItWasCutOffOnTheMinoritySide() {
        var trace = Self.edited(3, .fenceOrdered(by: 0, target: 4, life: 1, term: 1, targetLive: true))
        #expect(Self.kinds(trace) == [.liveNodeFenced])
        #expect(HAInvariants.check(trace, settle: .seconds(40)).fencesOfLiveNodes == [4])
        // n4 alone was cut off (5 s to 12 s) in this life: the majority may fence it later.
        trace.partitions = [HATrace.Partition(
            group: [false, false, false, false, true], from: Self.at(5), healedAt: Self.at(12), graceUntil: Self.at(13))]
        #expect(Self.kinds(trace).isEmpty)
        // A cut that began after the order does not count.
        trace.partitions[0].from = Self.at(15)
        #expect(Self.kinds(trace) == [.liveNodeFenced])
        // Nor does one before the node's current life began.
        var later = Self.edited(3, .fenceOrdered(by: 0, target: 4, life: 2, term: 1, targetLive: true))
        later.events.insert(.init(at: Self.at(2), .restarted(node: 4, life: 2)), at: 1)
        later.partitions = [HATrace.Partition(
            group: [false, false, false, false, true], from: Self.at(0), healedAt: Self.at(1), graceUntil: Self.at(1))]
        #expect(Self.kinds(later).contains(.liveNodeFenced))
    }

    @Test func aRecoveryBeforeThePowerOffOfThatLifeIsCaught() {
        #expect(Self.kinds(Self.edited(4, nil)) == [.recoveryBeforeFence])
        // A power-off of another life does not count.
        #expect(Self.kinds(Self.edited(4, .poweredOff(target: 4, life: 0))) == [.recoveryBeforeFence])
    }

    @Test func aLifeFencedAgainByALeaderThatKnewOrNeverFencedIsCaught() {
        // n1 wins term 2 (cut off from n0's record), fences again and records it: an
        // allowed repeat of the idempotent power-off.
        var repeated = Self.goodTrace()
        repeated.events.append(.init(at: Self.at(30), .leaderWon(node: 1, term: 2)))
        repeated.events.append(.init(at: Self.at(30), .certified(node: 1, subject: 4, life: 1, validVotes: 3)))
        repeated.events.append(.init(at: Self.at(31), .fenceOrdered(by: 1, target: 4, life: 1, term: 2, targetLive: false)))
        repeated.events.append(.init(at: Self.at(32), .fenceRecorded(by: 1, target: 4, life: 1, term: 2)))
        let allowed = HAInvariants.check(repeated, settle: .seconds(40))
        #expect(allowed.violations.isEmpty, "\(allowed.violations)")
        #expect(allowed.fenceCompletions == 1)
        #expect(allowed.duplicateFences == 1)
        // The same, but n1 had stored n0's `fenced` record before it ordered its fence.
        var knew = repeated
        knew.events.insert(.init(at: Self.at(29), .learnedFenced(node: 1, target: 4, life: 1)), at: knew.events.count - 4)
        #expect(Self.kinds(knew) == [.fenceNotOnce])
        // One leader confirming one life twice.
        var twice = Self.goodTrace()
        twice.events.append(.init(at: Self.at(20), .fenceRecorded(by: 0, target: 4, life: 1, term: 1)))
        #expect(Self.kinds(twice) == [.fenceNotOnce])
        // A leader fencing again a life it recorded fenced itself.
        var again = Self.goodTrace()
        again.events.append(.init(at: Self.at(20), .fenceOrdered(by: 0, target: 4, life: 1, term: 1, targetLive: false)))
        #expect(Self.kinds(again) == [.fenceNotOnce])
        // The leader was killed before it recorded the fence, and nobody took over.
        let never = Self.edited(5, nil)
        #expect(Self.kinds(never) == [.fenceNotOnce])
        // Not owed yet when the run ends less than `settle` after the crash...
        #expect(HAInvariants.check(never, settle: .seconds(91)).violations.isEmpty)
        // ...or when the node came back early.
        var back = never
        back.events.append(.init(at: Self.at(30), .restarted(node: 4, life: 2)))
        #expect(Self.kinds(back).isEmpty)
        // Or while the brake holds it for an operator.
        var held = never
        held.events.append(.init(at: Self.at(14), .brakeHeld(target: 4, life: 1)))
        #expect(Self.kinds(held).isEmpty)
        #expect(HAInvariants.check(held, settle: .seconds(40)).heldByBrake == 1)
    }

    @Test func aLifeNeverRecoveredIsCaughtAndDuplicatesAreCountedApart() {
        #expect(Self.kinds(Self.edited(7, nil)) == [.notRecovered])
        var duplicate = Self.goodTrace()
        duplicate.events.append(.init(at: Self.at(40), .recoveryOrdered(by: 0, target: 4, life: 1, term: 1)))
        duplicate.events.append(.init(at: Self.at(41), .recoveryReceived(target: 4, life: 1)))
        let result = HAInvariants.check(duplicate, settle: .seconds(40))
        #expect(result.violations.isEmpty)
        #expect(result.recoveriesAccepted == 1)
        #expect(result.duplicateRecoveries == 1)
    }

    @Test func aCutDelaysWhatALifeIsOwed() {
        // n4 crashed at 10 s, a cut healed at 70 s: at 100 s it has been owed for 30 s only.
        var trace = Self.edited(5, nil)
        trace.partitions = [HATrace.Partition(
            group: [true, true, false, false, false], from: Self.at(8), healedAt: Self.at(70), graceUntil: Self.at(100))]
        let result = HAInvariants.check(trace, settle: .seconds(40))
        #expect(!result.violations.map(\.kind).contains(.fenceNotOnce))
        #expect(result.livesChecked == 0)
    }

    @Test func nothingIsOwedWhileNoMajorityCanLead() {
        // n4 crashed at 10 s and was never fenced; n1 and n2 learn at 12 s that they were
        // certified failed (a healed partition): n0 and n3 alone are no majority of five.
        var trace = Self.edited(5, nil)
        trace.events.append(.init(at: Self.at(12), .declaredFailed(node: 1, life: 1)))
        trace.events.append(.init(at: Self.at(12), .declaredFailed(node: 2, life: 1)))
        #expect(Self.kinds(trace).isEmpty)
        // n1 restarts at 30 s: three of five again, so from then on n4 is owed its fence.
        trace.events.append(.init(at: Self.at(30), .restarted(node: 1, life: 2)))
        #expect(Self.kinds(trace) == [.fenceNotOnce])
        #expect(HAInvariants.check(trace, settle: .seconds(71)).violations.isEmpty)
    }
}
