import Foundation
import Logging
import Synchronization
import VigilCore

/// Carries out the leader's orders with the drivers of the config file: a node's
/// fence levels from `fencing:`, then the `recovery:` driver.
///
/// Every call ends: each driver bounds itself (`fencing.timeout` per method,
/// `recovery.timeout`), and a hang guard a little past that ends a driver that does
/// not, reporting a failure (retried by the core with backoff), never a success.
public final class ConfiguredHA: HAActions {
    public let fencing: FencingSettings
    public let recovery: RecoverySettings
    private let recoveryDriver: any RecoveryDriver
    private let logger: Logger
    /// When each (node, life) was confirmed off here, or first asked to be recovered
    /// here: Masakari recognises a duplicate notification by its `generated_time`, so
    /// every retry of one (node, life) must carry the same `fencedAt`.
    private let fencedAt = Mutex<[NodeLife: Date]>([:])
    /// Past a driver's own timeout, how long the hang guard waits before giving up.
    static let hangGrace: Duration = .seconds(5)

    private struct NodeLife: Hashable {
        var node: String
        var life: UInt32
    }

    /// - Parameters:
    ///   - recoveryDriver: the driver to use; default: the one `recovery` configures.
    ///   - logger: for the drivers' attempts; never sees a secret.
    public init(
        fencing: FencingSettings, recovery: RecoverySettings, recoveryDriver: (any RecoveryDriver)? = nil,
        logger: Logger
    ) {
        self.fencing = fencing
        self.recovery = recovery
        self.recoveryDriver = recoveryDriver ?? recovery.makeDriver(logger: logger)
        self.logger = logger
    }

    public func fence(_ order: FenceOrder) async -> (confirmed: Bool, detail: String) {
        guard let levels = self.fencing.levels(for: order.node) else {
            return (
                false,
                "no fence levels for \(order.node) in this agent's fencing: section; give every agent the same "
                    + "`fencing.levels` (or `fencing.nodes.\(order.node)`), since any node may lead"
            )
        }
        let fenceLevels = FenceLevels(levels: levels.map { $0.map { $0.makeDriver() } }, logger: self.logger)
        let request = FenceRequest(node: order.node, term: order.term, timeout: self.fencing.timeout)
        let bound = self.fencing.longestFence(of: order.node) + Self.hangGrace
        let outcome = await Self.guarded(within: bound, "the fence of \(order.node)") {
            () async throws(FenceLevelsError) in try await fenceLevels.fence(request)
        }
        switch outcome {
        case .success(let confirmation):
            let now = Date()
            self.fencedAt.withLock { times in
                let key = NodeLife(node: order.node, life: order.life)
                if times[key] == nil { times[key] = now }
                // An older life of the node will not be recovered again.
                times = times.filter { $0.key.node != order.node || $0.key.life >= order.life }
            }
            let methods = confirmation.confirmations.map { "\($0.method): \($0.detail)" }.joined(separator: "; ")
            return (true, confirmation.level == 1 ? methods : "level \(confirmation.level): \(methods)")
        case .failure(let failure):
            return (false, failure.message)
        }
    }

    public func recover(_ order: RecoveryOrder) async -> (succeeded: Bool, detail: String) {
        let fencedAt = self.fencedAt.withLock { times in
            // A new leader resuming a fence confirmed elsewhere: the first time this
            // agent is asked stands for the fence, and stays for every retry.
            let key = NodeLife(node: order.node, life: order.life)
            if let known = times[key] { return known }
            let now = Date()
            times[key] = now
            return now
        }
        let request = RecoveryRequest(
            node: order.node, term: order.term, fencedAt: fencedAt, timeout: self.recovery.timeout)
        let driver = self.recoveryDriver
        let bound = self.recovery.timeout + Self.hangGrace
        let outcome = await Self.guarded(within: bound, "the recovery of \(order.node)") {
            () async throws(RecoveryError) in try await driver.recover(request)
        }
        switch outcome {
        case .success(let done): return (true, "\(done.method): \(done.detail)")
        case .failure(let failure): return (false, failure.message)
        }
    }

    /// Why a guarded call gave no result: its own error, or the hang guard's, on one line.
    private struct GuardFailure: Error {
        var message: String
    }

    /// Runs `body` under the hang guard: past `bound` it is cancelled and reported as
    /// a failure (a driver that ignores its own timeout must not hold an order forever).
    private static func guarded<T: Sendable, E: Error & CustomStringConvertible>(
        within bound: Duration, _ what: String, _ body: @escaping @Sendable () async throws(E) -> T
    ) async -> Result<T, GuardFailure> {
        let outcome: Result<T, E>
        do throws(FenceError) {
            outcome = try await FenceDeadline(after: bound).guarding(
                onTimeout: { .timedOut("\(what) did not end within \(bound.fenceText)") }
            ) { () async throws(FenceError) -> Result<T, E> in
                do throws(E) {
                    return .success(try await body())
                } catch {
                    return .failure(error)
                }
            }
        } catch {
            return .failure(GuardFailure(message: Check.oneLine(error.message)))
        }
        return outcome.mapError { GuardFailure(message: Check.oneLine($0.description)) }
    }

    /// When this agent holds `node`'s `life` as fenced (for tests and `vigil fence status`).
    public func fencedAt(_ node: String, life: UInt32) -> Date? {
        self.fencedAt.withLock { $0[NodeLife(node: node, life: life)] }
    }
}
