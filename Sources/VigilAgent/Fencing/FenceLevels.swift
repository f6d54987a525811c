import Logging

/// A node's fence methods in order, like Pacemaker's fencing topology: a list of
/// levels, each a list of methods that must *all* succeed (say, both PDUs feeding a
/// dual-supply server). Levels are tried in order; the first level whose every method
/// confirms power-off fences the node. A method that fails ends its level (the rest of
/// it is not tried: half a level does not fence) and the next level is tried.
///
/// Each method gets the request's whole `timeout` for itself, so the worst case is
/// the number of methods times the timeout; the leader's HA loop bounds the total.
public struct FenceLevels: Sendable {
    /// The levels, first tried first. Level numbers in results and messages count
    /// from 1, as in Pacemaker's `index`.
    public let levels: [[any FenceDriver]]
    private let logger: Logger

    /// - Parameters:
    ///   - levels: at least one level, each with at least one method.
    ///   - logger: where each attempt is logged (never with a secret: drivers keep
    ///     secrets out of their messages).
    public init(levels: [[any FenceDriver]], logger: Logger) {
        self.levels = levels
        self.logger = logger
    }

    /// Fences `request.node` with the first level that works.
    /// - Returns: which level confirmed it, each of its methods' confirmation, and
    ///   what failed on the way.
    /// - Throws: `FenceLevelsError` with every method's error, when no level worked
    ///   (or there are none): the node is *not* fenced and must not be recovered.
    public func fence(_ request: FenceRequest) async throws(FenceLevelsError) -> FenceLevelsConfirmation {
        var failures: [FenceAttemptFailure] = []
        var logger = self.logger
        logger[metadataKey: "fence.node"] = "\(request.node)"
        logger[metadataKey: "fence.term"] = "\(request.term)"

        for (index, drivers) in self.levels.enumerated() {
            let level = index + 1
            if Task.isCancelled {
                failures.append(
                    FenceAttemptFailure(level: level, method: "-", error: .failed("cancelled before level \(level) ran")))
                break
            }
            guard !drivers.isEmpty else {
                failures.append(
                    FenceAttemptFailure(
                        level: level, method: "-", error: .misconfigured("fence level \(level) has no methods")))
                continue
            }
            var confirmations: [FenceConfirmation] = []
            for driver in drivers {
                logger.info(
                    "fence.attempt", metadata: ["fence.level": "\(level)", "fence.method": "\(driver.method)"])
                do throws(FenceError) {
                    let confirmation = try await driver.fence(request)
                    logger.info(
                        "fence.method.confirmed",
                        metadata: [
                            "fence.level": "\(level)", "fence.method": "\(driver.method)",
                            "fence.detail": "\(confirmation.detail)",
                        ])
                    confirmations.append(confirmation)
                } catch {
                    logger.warning(
                        "fence.method.failed",
                        metadata: [
                            "fence.level": "\(level)", "fence.method": "\(driver.method)",
                            "fence.error.kind": "\(error.kindLabel)", "fence.error": "\(error.message)",
                        ])
                    failures.append(FenceAttemptFailure(level: level, method: driver.method, error: error))
                    break
                }
            }
            if confirmations.count == drivers.count {
                logger.notice("fence.confirmed", metadata: ["fence.level": "\(level)"])
                return FenceLevelsConfirmation(level: level, confirmations: confirmations, failures: failures)
            }
        }
        let error = FenceLevelsError(node: request.node, term: request.term, failures: failures)
        logger.error("fence.failed", metadata: ["fence.error": "\(error.description)"])
        throw error
    }
}
