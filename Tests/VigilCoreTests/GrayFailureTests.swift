import Testing

@testable import VigilCore

/// A gray failure: one node hears only a fifth of what is sent to it (what it sends
/// all arrives). Virtual time only.
@Suite("Gray failure: one-sided loss")
struct GrayFailureTests {
    let names = (1...7).map { "node-\($0)" }

    /// Over several seeds: the gray node ends stably failed or stably alive in every
    /// healthy view (no status change of it in the last minute of four, never back
    /// from failed, and all healthy views agree), and no healthy member is ever
    /// suspect, let alone failed, in any healthy view: the gray node's suspicions of
    /// members that their observers have just heard from are set aside, and a
    /// non-observer waits for a second observer (README, How a failure is decided).
    @Test(arguments: [1, 11, 21, 31, 41] as [UInt64])
    func aNodeThatHearsOneInFiveEndsStableAndNoHealthyNodeIsEvenSuspected(seed: UInt64) {
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
            let late = changes.filter { $0.at >= start + .seconds(180) }
            #expect(late.isEmpty, "seed \(seed), \(observer) still sees \(gray) change: \(late.map(\.event))")
            if let failed = changes.firstIndex(where: { if case .statusChanged(_, _, .failed, _) = $0.event { true } else { false } }) {
                #expect(failed == changes.indices.last, "seed \(seed), \(observer) brought \(gray) back: \(changes.map(\.event))")
            }
            let status = network.status(of: gray, at: observer)
            #expect(status == .failed || status == .alive, "seed \(seed), \(observer) sees \(gray) \(String(describing: status))")
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
        // All observers agree on how it ended.
        let ends = Set(healthy.map { network.status(of: gray, at: $0) })
        #expect(ends.count == 1, "seed \(seed): \(ends)")
        // The gray node did suspect healthy members (in its own view): the case the
        // rule is for, set aside by their observers and held by the others.
        let setAside = healthy.map { network.nodes[$0]!.stats.suspicionsOutweighed + network.nodes[$0]!.stats.suspicionsHeld }
        #expect(suspectedByGray > 0 && setAside.reduce(0, +) > 0, "seed \(seed): \(suspectedByGray), \(setAside)")
    }
}
