import Testing

@testable import VigilCore

// Expected phi values below were computed by hand (python3) with Akka's formula as
// Akka writes it: y = (t - mean') / std', e = exp(-y (1.5976 + 0.070566 y²)),
// phi = -log10(e / (1 + e)) when late, -log10(1 - 1 / (1 + e)) when early.

/// An instant `ms` milliseconds after the origin.
private func at(_ ms: Int64) -> Instant {
    Instant(nanoseconds: ms * 1_000_000)
}

private func isClose(_ actual: Double, _ expected: Double, tolerance: Double = 1e-9) -> Bool {
    abs(actual - expected) <= tolerance
}

/// A detector that has seen heartbeats every `interval` ms from t = 0 to t = `count * interval`.
private func regularDetector(
    every interval: Int64 = 1000,
    count: Int,
    windowSize: Int = 10,
    threshold: Double = 8,
    minStdDeviation: Duration = .milliseconds(100),
    acceptablePause: Duration = .zero
) -> PhiAccrualDetector {
    var detector = PhiAccrualDetector(
        threshold: threshold,
        windowSize: windowSize,
        minStdDeviation: minStdDeviation,
        acceptablePause: acceptablePause,
        firstHeartbeatEstimate: .milliseconds(interval)
    )
    for beat in 0...Int64(count) {
        detector.heartbeat(at: at(beat * interval))
    }
    return detector
}

@Suite("DetectionTests")
struct DetectionTests {
    // MARK: Phi accrual

    @Test func phiIsZeroBeforeTheFirstHeartbeat() {
        let detector = PhiAccrualDetector(
            threshold: 8, windowSize: 100, minStdDeviation: .milliseconds(100),
            acceptablePause: .zero, firstHeartbeatEstimate: .seconds(1)
        )
        #expect(detector.lastHeartbeat == nil)
        #expect(detector.phi(at: at(0)) == 0)
        #expect(detector.phi(at: at(3_600_000)) == 0)
        #expect(!detector.isSuspect(at: at(3_600_000)))
        // Seeded like Akka: two samples, estimate ∓ estimate/4.
        #expect(detector.sampleCount == 2)
        #expect(detector.mean == .seconds(1))
        #expect(detector.standardDeviation == .milliseconds(250))
    }

    @Test func firstHeartbeatOnlyRecordsTheTimeAndPhiUsesTheEstimate() {
        var detector = PhiAccrualDetector(
            threshold: 8, windowSize: 100, minStdDeviation: .milliseconds(100),
            acceptablePause: .zero, firstHeartbeatEstimate: .seconds(1)
        )
        detector.heartbeat(at: at(5000))
        #expect(detector.lastHeartbeat == at(5000))
        #expect(detector.sampleCount == 2)
        #expect(detector.mean == .seconds(1))
        // mean 1000 ms, std 250 ms (above the 100 ms floor).
        #expect(isClose(detector.phi(at: at(6000)), 0.3010299956639812))
        #expect(isClose(detector.phi(at: at(6250)), 0.7995083208395598))
        #expect(isClose(detector.phi(at: at(6500)), 1.6428278854871123))
        #expect(isClose(detector.phi(at: at(7000)), 4.736694582705181))
    }

    @Test func regularHeartbeatsGiveHandComputedPhi() {
        // 11 intervals of 1000 ms in a window of 10: the seeds are gone, std is 0 and
        // floored to 100 ms.
        let detector = regularDetector(count: 11)
        let last: Int64 = 11_000
        #expect(detector.mean == .seconds(1))
        #expect(isClose(detector.phi(at: at(last + 1000)), 0.3010299956639812))  // y = 0: -log10(0.5)
        #expect(isClose(detector.phi(at: at(last + 900)), 0.0750330321409399))
        #expect(isClose(detector.phi(at: at(last + 1100)), 0.7995083208395598))
        #expect(isClose(detector.phi(at: at(last + 1200)), 1.6428278854871123))
        #expect(isClose(detector.phi(at: at(last + 1500)), 7.299947394460206))
        #expect(isClose(detector.phi(at: at(last + 2000)), 37.58471305287122))
        #expect(isClose(detector.phi(at: at(last + 3000)), 259.04797256565166, tolerance: 1e-7))
    }

    @Test func mixedHistoryUsesPopulationMeanAndDeviationIncludingSeeds() {
        var detector = PhiAccrualDetector(
            threshold: 8, windowSize: 100, minStdDeviation: .milliseconds(100),
            acceptablePause: .zero, firstHeartbeatEstimate: .seconds(1)
        )
        // Window: 750, 1250 (seeds), 900, 1100, 1000 → mean 1000, std 170.29386365926402.
        for time: Int64 in [0, 900, 2000, 3000] {
            detector.heartbeat(at: at(time))
        }
        #expect(detector.sampleCount == 5)
        #expect(detector.mean == .seconds(1))
        #expect(detector.standardDeviation == .nanoseconds(170_293_864))
        #expect(isClose(detector.phi(at: at(4500)), 2.8135176981206547))
    }

    @Test func suspectOnceThePhiThresholdIsReached() {
        let detector = regularDetector(count: 11)
        let last: Int64 = 11_000
        // phi(+1520 ms) = 7.917042542997102, phi(+1530 ms) = 8.239840710115104.
        #expect(!detector.isSuspect(at: at(last + 1520)))
        #expect(detector.isSuspect(at: at(last + 1530)))
    }

    @Test func phiGrowsMonotonicallyWithSilence() {
        let detector = regularDetector(count: 20, windowSize: 100)
        let last: Int64 = 20_000
        var previous = detector.phi(at: at(last))
        for elapsed in stride(from: Int64(10), through: 60_000, by: 10) {
            let phi = detector.phi(at: at(last + elapsed))
            #expect(phi >= previous, "phi fell from \(previous) to \(phi) at +\(elapsed) ms")
            previous = phi
        }
        #expect(previous > detector.threshold)
    }

    @Test func acceptablePauseShiftsTheCurveByExactlyThePause() {
        let plain = regularDetector(count: 11)
        let patient = regularDetector(count: 11, acceptablePause: .milliseconds(500))
        let last: Int64 = 11_000
        for elapsed in stride(from: Int64(0), through: 3000, by: 50) {
            let expected = plain.phi(at: at(last + elapsed))
            let actual = patient.phi(at: at(last + elapsed + 500))
            #expect(isClose(actual, expected, tolerance: 1e-12), "at +\(elapsed) ms")
        }
        #expect(isClose(patient.phi(at: at(last + 1500)), 0.3010299956639812))
        #expect(isClose(patient.phi(at: at(last + 2000)), 7.299947394460206))
    }

    @Test func minStdDeviationFloorsAPerfectlyRegularHistory() {
        let floored = regularDetector(count: 11, minStdDeviation: .milliseconds(100))
        let sharp = regularDetector(count: 11, minStdDeviation: .milliseconds(10))
        let last: Int64 = 11_000
        #expect(floored.standardDeviation == .zero)
        // 100 ms late: y = 1 with the 100 ms floor, y = 10 with a 10 ms floor.
        #expect(isClose(floored.phi(at: at(last + 1100)), 0.7995083208395598))
        #expect(isClose(sharp.phi(at: at(last + 1100)), 37.58471305287122))
    }

    @Test func windowForgetsSamplesOlderThanItsSize() {
        // A wide floor so that the slower heartbeats are not suspect when they arrive.
        var detector = regularDetector(count: 5, windowSize: 5, minStdDeviation: .seconds(1))
        #expect(detector.sampleCount == 5)
        #expect(detector.mean == .seconds(1))
        var time: Int64 = 5000
        for _ in 1...4 {
            time += 2000
            detector.heartbeat(at: at(time))
        }
        #expect(detector.mean == .milliseconds(1800))  // (1000 + 4 × 2000) / 5
        time += 2000
        detector.heartbeat(at: at(time))
        #expect(detector.sampleCount == 5)
        #expect(detector.mean == .seconds(2))
        #expect(detector.standardDeviation == .zero)
    }

    @Test func longRunDoesNotDriftTheStatistics() {
        // Many turns of the ring with fractional intervals, then a window of exact ones.
        var detector = regularDetector(count: 0, windowSize: 7)
        var nanoseconds: Int64 = 0
        for beat in 1...10_000 {
            nanoseconds += 1_000_000_000 + Int64(beat % 5) * 123_457
            detector.heartbeat(at: Instant(nanoseconds: nanoseconds))
        }
        for _ in 1...7 {
            nanoseconds += 1_000_000_000
            detector.heartbeat(at: Instant(nanoseconds: nanoseconds))
        }
        #expect(detector.sampleCount == 7)
        #expect(detector.mean == .seconds(1))
        #expect(detector.standardDeviation < .microseconds(1))
    }

    @Test func heartbeatEndingASuspectedSilenceIsNotAddedToTheWindow() {
        var detector = regularDetector(count: 11)
        #expect(detector.isSuspect(at: at(16_000)))
        detector.heartbeat(at: at(16_000))
        #expect(detector.lastHeartbeat == at(16_000))
        #expect(detector.sampleCount == 10)
        #expect(detector.mean == .seconds(1))
        #expect(isClose(detector.phi(at: at(17_000)), 0.3010299956639812))
    }

    @Test func duplicateOrEarlierHeartbeatIsIgnored() {
        var detector = PhiAccrualDetector(
            threshold: 8, windowSize: 100, minStdDeviation: .milliseconds(100),
            acceptablePause: .zero, firstHeartbeatEstimate: .seconds(1)
        )
        detector.heartbeat(at: at(0))
        detector.heartbeat(at: at(1000))
        let before = detector
        detector.heartbeat(at: at(1000))  // same instant: no zero interval
        #expect(detector == before)
        detector.heartbeat(at: at(400))  // earlier: neither recorded nor moves time back
        #expect(detector == before)
        #expect(detector.lastHeartbeat == at(1000))
        #expect(detector.sampleCount == 3)
    }

    @Test func shiftForgivesThisNodesOwnPause() {
        var detector = regularDetector(count: 11)
        let last: Int64 = 11_000
        #expect(isClose(detector.phi(at: at(last + 1500)), 7.299947394460206))
        detector.shift(by: .milliseconds(500))
        #expect(detector.lastHeartbeat == at(last + 500))
        #expect(isClose(detector.phi(at: at(last + 1500)), 0.3010299956639812))
        // Statistics untouched.
        #expect(detector.mean == .seconds(1))
        #expect(detector.sampleCount == 10)
        // Non-positive shifts do nothing.
        let shifted = detector
        detector.shift(by: .zero)
        detector.shift(by: .milliseconds(-200))
        #expect(detector == shifted)
    }

    @Test func shiftBeforeTheFirstHeartbeatDoesNothing() {
        var detector = PhiAccrualDetector(
            threshold: 8, windowSize: 100, minStdDeviation: .milliseconds(100),
            acceptablePause: .zero, firstHeartbeatEstimate: .seconds(1)
        )
        detector.shift(by: .seconds(5))
        #expect(detector.lastHeartbeat == nil)
        #expect(detector.phi(at: at(10_000)) == 0)
    }

    @Test func extremeGapsGiveLargeFinitePhiNeverNaN() {
        let detector = regularDetector(count: 11)
        let last: Int64 = 11_000
        // y = 30: Akka's form underflows to +∞ here (from y ≈ 21.3); log10(1 + e^x) is
        // x / ln 10 = 848.2683249982505.
        #expect(isClose(detector.phi(at: at(last + 4000)), 848.2683249982505, tolerance: 1e-6))
        let hour = detector.phi(at: at(last + 3_600_000))
        #expect(hour.isFinite)
        #expect(hour == PhiAccrualDetector.maximumPhi)
        let forever = detector.phi(at: .distantFuture)
        #expect(forever == PhiAccrualDetector.maximumPhi)
        #expect(detector.isSuspect(at: .distantFuture))
        // Before the last heartbeat (e.g. after an over-long shift): 0, not NaN.
        let early = detector.phi(at: at(0))
        #expect(!early.isNaN)
        #expect(early >= 0 && early < 1e-30)
    }

    @Test func zeroDeviationWithoutAFloorStaysFinite() {
        let detector = regularDetector(count: 11, minStdDeviation: .zero)
        let last: Int64 = 11_000
        #expect(detector.standardDeviation == .zero)
        #expect(isClose(detector.phi(at: at(last + 1000)), 0.3010299956639812))  // 0 / 0 → y = 0
        #expect(detector.phi(at: at(last + 1001)) == PhiAccrualDetector.maximumPhi)
        #expect(detector.phi(at: at(last + 999)) == 0)
    }

    @Test func configurationInitMatchesTheExplicitOne() {
        let phi = Configuration.lan.phi
        let fromConfiguration = PhiAccrualDetector(phi, firstHeartbeatEstimate: .milliseconds(500))
        let explicit = PhiAccrualDetector(
            threshold: 8, windowSize: 100, minStdDeviation: .milliseconds(100),
            acceptablePause: .milliseconds(500), firstHeartbeatEstimate: .milliseconds(500)
        )
        #expect(fromConfiguration == explicit)
        #expect(fromConfiguration.threshold == 8)
        #expect(fromConfiguration.windowSize == 100)
    }

    // MARK: Health score

    @Test func healthScoreStartsHealthyAndClampsAtZero() {
        var health = HealthScore(max: 8)
        #expect(health.score == 0)
        var changed = health.apply(.probeSucceeded)
        #expect(!changed)
        changed = health.apply(-5)
        #expect(!changed)
        #expect(health.score == 0)
        changed = health.apply(Int.min)
        #expect(!changed)
        #expect(health.score == 0)
    }

    @Test func healthScoreClampsAtMax() {
        var health = HealthScore(max: 8)
        for _ in 1...8 {
            let changed = health.apply(.probeFailed)
            #expect(changed)
        }
        #expect(health.score == 8)
        var changed = health.apply(.missedNack)
        #expect(!changed)
        changed = health.apply(100)
        #expect(!changed)
        changed = health.apply(Int.max)
        #expect(!changed)
        #expect(health.score == 8)
        changed = health.apply(Int.min)
        #expect(changed)
        #expect(health.score == 0)
    }

    @Test func healthEventsMoveTheScoreAsLifeguardSays() {
        #expect(HealthEvent.probeSucceeded.delta == -1)
        #expect(HealthEvent.probeFailed.delta == 1)
        #expect(HealthEvent.missedNack.delta == 1)
        #expect(HealthEvent.refutedSuspicion.delta == 1)
        var health = HealthScore(Configuration.lan.lifeguard)
        #expect(health.max == Configuration.lan.lifeguard.maxHealthScore)
        health.apply(.refutedSuspicion)
        health.apply(.missedNack)
        health.apply(.missedNack)
        #expect(health.score == 3)
        health.apply(.probeSucceeded)
        #expect(health.score == 2)
    }

    @Test func healthScoreScalesTimeoutsByScorePlusOne() {
        var health = HealthScore(max: 8)
        #expect(health.multiplier == 1)
        #expect(health.scale(.milliseconds(200)) == .milliseconds(200))
        health.apply(3)
        #expect(health.scale(.milliseconds(200)) == .milliseconds(800))
        health.apply(100)
        #expect(health.scale(.milliseconds(200)) == .milliseconds(1800))
    }

    @Test func unhealthyNodeIsAboveTheLimit() {
        var health = HealthScore(max: 8)
        health.apply(2)
        #expect(health.isHealthy(limit: 2))
        health.apply(.probeFailed)
        #expect(!health.isHealthy(limit: 2))
    }

    // MARK: Suspicion timer

    @Test func suspicionDeadlineStartsAtMax() {
        let timer = SuspicionTimer(
            start: at(10_000), expectedConfirmations: 5,
            min: .milliseconds(500), max: .seconds(2), from: "a"
        )
        #expect(timer.confirmations == 0)
        #expect(timer.deadline == at(12_000))
        #expect(!timer.isExpired(at: at(11_999)))
        #expect(timer.isExpired(at: at(12_000)))
        #expect(timer.remaining(at: at(11_000)) == .seconds(1))
        #expect(timer.remaining(at: at(13_000)) == .zero)
    }

    @Test func suspicionShrinksWithEachIndependentConfirmationToMinAtK() {
        var timer = SuspicionTimer(
            start: at(10_000), expectedConfirmations: 5,
            min: .milliseconds(500), max: .seconds(2), from: "a"
        )
        // floor(2e9 - 1.5e9 · ln(c + 1) / ln 6) ns.
        let expected: [Int64] = [1_419_720_789, 1_080_279_210, 839_441_578, 652_633_397, 500_000_000]
        for (index, observer) in ["b", "c", "d", "e", "f"].enumerated() {
            let before = timer.deadline
            let counted = timer.confirm(by: observer)
            #expect(counted)
            #expect(timer.confirmations == index + 1)
            #expect(timer.deadline < before)
            #expect(timer.deadline == at(10_000) + .nanoseconds(expected[index]))
        }
        #expect(timer.deadline == at(10_000) + .milliseconds(500))
        // Capped at k.
        let counted = timer.confirm(by: "g")
        #expect(!counted)
        #expect(timer.confirmations == 5)
        #expect(timer.deadline == at(10_500))
    }

    @Test func suspicionHandComputedForThreeExpected() {
        var timer = SuspicionTimer(
            start: .zero, expectedConfirmations: 3,
            min: .milliseconds(500), max: .seconds(2), from: "a"
        )
        timer.confirm(by: "b")
        // 2000 - 1500 · ln 2 / ln 4 = 1250 ms.
        #expect(timer.deadline == at(1250))
        timer.confirm(by: "c")
        // 2000 - 1500 · ln 3 / ln 4 = 811.2781244591328 ms, truncated to the nanosecond.
        #expect(timer.deadline == Instant(nanoseconds: 811_278_124))
        timer.confirm(by: "d")
        #expect(timer.deadline == at(500))
    }

    @Test func firstObserverAndDuplicatesDoNotShrinkTheSuspicion() {
        var timer = SuspicionTimer(
            start: at(10_000), expectedConfirmations: 5,
            min: .milliseconds(500), max: .seconds(2), from: "a"
        )
        var counted = timer.confirm(by: "a")
        #expect(!counted)
        #expect(timer.deadline == at(12_000))
        counted = timer.confirm(by: "b")
        #expect(counted)
        let afterB = timer.deadline
        counted = timer.confirm(by: "b")
        #expect(!counted)
        counted = timer.confirm(by: "a")
        #expect(!counted)
        #expect(timer.confirmations == 1)
        #expect(timer.confirmedBy == ["b"])
        #expect(timer.deadline == afterB)
    }

    @Test func suspicionWithNoExpectedConfirmationsUsesMin() {
        var timer = SuspicionTimer(
            start: at(10_000), expectedConfirmations: 0,
            min: .milliseconds(500), max: .seconds(2), from: "a"
        )
        #expect(timer.deadline == at(10_500))
        let counted = timer.confirm(by: "b")
        #expect(!counted)
        #expect(timer.deadline == at(10_500))
    }

    @Test func suspicionFromConfigurationUsesTheLifeguardWindow() {
        let timer = SuspicionTimer(
            start: at(1000), expectedConfirmations: 4, lifeguard: Configuration.lan.lifeguard, from: "a"
        )
        #expect(timer.deadline == at(3000))
        #expect(timer.minimum == .milliseconds(500))
        #expect(timer.maximum == .seconds(2))
    }

    @Test func suspicionMaxBelowMinIsRaisedToMin() {
        let timer = SuspicionTimer(
            start: .zero, expectedConfirmations: 3, min: .seconds(2), max: .seconds(1), from: "a"
        )
        #expect(timer.deadline == at(2000))
    }
}
