import NIOCore

/// The end of one fence call's time budget (`FenceRequest.timeout`), shared by every
/// step of it: each request, each poll, each child process gets what is left.
struct FenceDeadline: Sendable {
    let start: ContinuousClock.Instant
    let end: ContinuousClock.Instant
    let budget: Duration

    /// - Parameters:
    ///   - budget: how long from now.
    ///   - reported: the budget named in messages, when it differs (a step deadline
    ///     set a little before the caller's timeout names the caller's timeout).
    init(after budget: Duration, reportedAs reported: Duration? = nil) {
        self.start = .now
        self.end = self.start + budget
        self.budget = reported ?? budget
    }

    /// What is left, never negative.
    var remaining: Duration { max(.zero, self.end - .now) }
    var hasPassed: Bool { ContinuousClock.now >= self.end }
    var elapsed: Duration { .now - self.start }

    /// Sleeps `interval`, or until the deadline if that comes first.
    /// - Returns: `false` if the deadline has passed (or the task was cancelled).
    func sleep(_ interval: Duration) async -> Bool {
        let wait = min(interval, self.remaining)
        guard wait > .zero else { return false }
        do {
            try await Task.sleep(for: wait)
        } catch {
            return false
        }
        return !self.hasPassed
    }

    /// Runs `body`, but gives up (cancelling it) when the deadline passes: a hang
    /// guard for the steps that bound themselves already.
    func guarding<T: Sendable>(
        onTimeout timeoutError: @escaping @Sendable () -> FenceError,
        _ body: @escaping @Sendable () async throws(FenceError) -> T
    ) async throws(FenceError) -> T {
        let remaining = self.remaining
        let result: Result<T, FenceError> = await withTaskGroup(of: Result<T, FenceError>?.self) { group in
            group.addTask {
                do throws(FenceError) {
                    return .success(try await body())
                } catch {
                    return .failure(error)
                }
            }
            group.addTask {
                // nil: the deadline passed (or we were cancelled, and then the body
                // ends too and reports it).
                try? await Task.sleep(for: remaining)
                return nil
            }
            var outcome: Result<T, FenceError> = .failure(timeoutError())
            if let first = await group.next(), let finished = first {
                outcome = finished
            }
            group.cancelAll()
            return outcome
        }
        return try result.get()
    }
}

extension Duration {
    /// For SwiftNIO and AsyncHTTPClient timeouts.
    var timeAmount: TimeAmount {
        let (seconds, attoseconds) = self.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// `1.2s`, `350ms`: for messages.
    var fenceText: String {
        let milliseconds = Int64(self.components.seconds) * 1000 + self.components.attoseconds / 1_000_000_000_000_000
        if milliseconds >= 1000 {
            let tenths = milliseconds / 100
            return tenths % 10 == 0 ? "\(tenths / 10)s" : "\(tenths / 10).\(tenths % 10)s"
        }
        return "\(milliseconds)ms"
    }
}
