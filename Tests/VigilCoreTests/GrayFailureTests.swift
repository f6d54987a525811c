import Testing

@testable import VigilCore

/// A gray failure: one node hears only a fifth of what is sent to it (what it sends
/// all arrives). Virtual time only.
@Suite("Gray failure: one-sided loss")
struct GrayFailureTests {
    let names = (1...7).map { "node-\($0)" }

    /// Over several seeds: the gray node is failed in every healthy view within 30 s of
    /// the loss and stays failed (its rounds fail far more often than the observers'
    /// rounds of anyone else: the chronic-failure rule, with the flap rule), and no
    /// healthy member is ever suspect, let alone failed, in any healthy view: the gray
    /// node's suspicions of members that their observers have just heard from are set
    /// aside, and a non-observer waits for a second observer (README, How a failure is
    /// decided).
    @Test func aNodeThatHearsOneInFiveIsFailedWithinHalfAMinuteAndNoHealthyNodeIsEvenSuspected() {
        var exercised = 0
        for seed in [1, 11, 21, 31, 41] as [UInt64] {
            exercised += self.runGrayNode(seed: seed)
        }
        // The gray node did suspect healthy members (in its own view) in some seeds,
        // and their observers set those suspicions aside or held them: the case the
        // rules are for, exercised.
        #expect(exercised > 0)
    }

    /// One seed; returns how many of the gray node's suspicions of healthy members
    /// were set aside or held by the others.
    func runGrayNode(seed: UInt64) -> Int {
        var network = MiniNetwork(names: self.names, seed: seed)
        network.run(until: .zero + .seconds(10))
        let gray = "node-7"
        let start = network.now
        network.receivesOneIn[gray] = 5
        network.run(until: start + .seconds(240))
        let healthy = self.names.filter { $0 != gray }
        var suspectedByGray = 0
        for observer in healthy {
            let changes = network.events.filter { item in
                guard item.node == observer, case .statusChanged(gray, _, _, _) = item.event else { return false }
                return true
            }
            let late = changes.filter { $0.at >= start + .seconds(30) }
            #expect(late.isEmpty, "seed \(seed), \(observer) still sees \(gray) change: \(late.map(\.event))")
            #expect(network.status(of: gray, at: observer) == .failed, "seed \(seed), \(observer) sees \(gray)")
            let moved = network.events.filter { item in
                guard item.node == observer, case .statusChanged(let member, _, let to, _) = item.event else { return false }
                return member != gray && to != .alive
            }
            #expect(moved.isEmpty, "seed \(seed), \(observer): \(moved.map(\.event))")
            for member in healthy {
                #expect(network.status(of: member, at: observer) == .alive, "seed \(seed), \(observer) sees \(member)")
            }
            suspectedByGray += network.events.filter { item in
                guard item.node == gray, case .statusChanged(observer, _, .suspect, _) = item.event else { return false }
                return true
            }.count
        }
        let setAside = healthy.map { network.nodes[$0]!.stats.suspicionsOutweighed + network.nodes[$0]!.stats.suspicionsHeld }
        return suspectedByGray > 0 ? Int(setAside.reduce(0, +)) : 0
    }
}
