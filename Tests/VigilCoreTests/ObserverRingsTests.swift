import Testing

@testable import VigilCore

@Suite("Observer rings")
struct ObserverRingsTests {
    /// `subjects(of:)` only walks a few ring neighbours and stops each candidate's
    /// walk early: it must still name exactly the members that have the node among
    /// their observers, in clusters from tiny (the fill from ring 0) to a few hundred,
    /// for several K, after joins and departures.
    @Test(arguments: [1, 2, 3, 5, 7])
    func subjectsAreExactlyTheMembersThatNameTheNodeAnObserver(k: Int) {
        for size in [1, 2, 3, 4, 6, 9, 17, 64, 257] {
            var rings = ObserverRings(k: k, members: (0..<size).map { "node-\($0)" })
            for step in 0..<3 {
                let members = (0..<(size + 3 * step)).map { "node-\($0)" }.filter { rings.contains($0) }
                for observer in members {
                    let expected = members.filter { $0 != observer && rings.observers(of: $0).contains(observer) }
                    #expect(
                        rings.subjects(of: observer) == expected.sorted(),
                        "k \(k), \(members.count) members, observer \(observer)")
                }
                // Change the view: two joins, one departure.
                rings.insert("node-\(size + 3 * step + 1)")
                rings.insert("node-\(size + 3 * step + 2)")
                rings.remove("node-\(step)")
            }
        }
    }
}
