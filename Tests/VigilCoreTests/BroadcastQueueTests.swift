import Testing
import VigilCore

@Suite("BroadcastQueue: what rides on the next packet")
struct BroadcastQueueTests {
    func suspicion(_ subject: String) -> Update {
        .suspect(Suspicion(subject: subject, incarnation: 1, observer: "o"))
    }

    @Test func ownRefutationGoesBeforeFailureNewsBeforeRoutine() {
        var queue = BroadcastQueue()
        queue.enqueue(.alive(Fixture.member("joiner")), key: .member("joiner"), priority: .routine)
        queue.enqueue(self.suspicion("x"), key: .suspicion(subject: "x", observer: "o"), priority: .failureNews)
        queue.enqueue(.alive(Fixture.member("me", incarnation: 2)), key: .member("me"), priority: .own)
        let taken = queue.take(budget: 1400, limit: 5)
        #expect(taken.count == 3)
        #expect(taken.first == .alive(Fixture.member("me", incarnation: 2)))
        #expect(taken[1] == self.suspicion("x"))
    }

    @Test func eachUpdateIsSentAtMostLimitTimes() {
        var queue = BroadcastQueue()
        queue.enqueue(self.suspicion("x"), key: .suspicion(subject: "x", observer: "o"), priority: .failureNews)
        var sent = 0
        for _ in 0..<10 { sent += queue.take(budget: 1400, limit: 4).count }
        #expect(sent == 4)
        #expect(queue.isEmpty)
    }

    @Test func newerUpdateWithTheSameKeyReplacesTheOlder() {
        var queue = BroadcastQueue()
        queue.enqueue(.alive(Fixture.member("b", incarnation: 1)), key: .member("b"), priority: .routine)
        queue.enqueue(.alive(Fixture.member("b", incarnation: 2)), key: .member("b"), priority: .routine)
        #expect(queue.count == 1)
        #expect(queue.take(budget: 1400, limit: 3) == [.alive(Fixture.member("b", incarnation: 2))])
    }

    @Test func takenUpdatesFitTheBudgetAndLeastSentGoFirst() {
        var queue = BroadcastQueue()
        for i in 0..<40 {
            queue.enqueue(self.suspicion("node-\(i)"), key: .suspicion(subject: "node-\(i)", observer: "o"), priority: .failureNews)
        }
        let size = self.suspicion("node-10").encodedSize
        let first = queue.take(budget: size * 10, limit: 3)
        #expect(first.count == 10)
        #expect(first.reduce(0) { $0 + $1.encodedSize } <= size * 10)
        // The next packet carries updates not sent yet before repeating any.
        let second = queue.take(budget: size * 10, limit: 3)
        #expect(second.allSatisfy { !first.contains($0) })
    }
}
