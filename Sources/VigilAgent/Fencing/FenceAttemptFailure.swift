/// One fence method that did not confirm power-off, in one level of `FenceLevels`.
public struct FenceAttemptFailure: Sendable, Equatable, CustomStringConvertible {
    /// The level, counting from 1.
    public var level: Int
    /// The driver's `method` (`-` when no method ran: an empty level, cancellation).
    public var method: String
    public var error: FenceError

    public init(level: Int, method: String, error: FenceError) {
        self.level = level
        self.method = method
        self.error = error
    }

    /// `level 1 redfish: <the error>`.
    public var description: String { "level \(self.level) \(self.method): \(self.error.message)" }
}
