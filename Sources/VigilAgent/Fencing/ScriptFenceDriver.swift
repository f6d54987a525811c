/// Fences by running an operator's program (see `ScriptFenceSettings` for its
/// contract): exit 0 from `off` is the program's verification that the node is off.
public struct ScriptFenceDriver: FenceDriver {
    public let settings: ScriptFenceSettings
    public var method: String { "script" }

    public init(settings: ScriptFenceSettings) {
        self.settings = settings
    }

    public func fence(_ request: FenceRequest) async throws(FenceError) -> FenceConfirmation {
        let outcome = try await self.run(action: "off", node: request.node, term: request.term, timeout: request.timeout)
        switch outcome.status {
        case .exited(0):
            return FenceConfirmation(method: self.method, detail: "\(self.name) off exited 0 (verified off)")
        case .exited(let code):
            throw .refused(
                "script \(self.name) off failed (exit \(code))\(Self.because(outcome)); the node is not known to be off")
        default:
            throw self.abnormal(outcome, action: "off", timeout: request.timeout)
        }
    }

    public func powerState(of node: String, timeout: Duration) async throws(FenceError) -> PowerState {
        let outcome = try await self.run(action: "status", node: node, term: 0, timeout: timeout)
        switch outcome.status {
        case .exited(0): return .on
        case .exited(2): return .off
        case .exited(let code):
            throw .refused("script \(self.name) status failed (exit \(code))\(Self.because(outcome))")
        default:
            throw self.abnormal(outcome, action: "status", timeout: timeout)
        }
    }

    private var name: String {
        String(self.settings.executable.split(separator: "/").last ?? Substring(self.settings.executable))
    }

    private func run(
        action: String, node: String, term: UInt64, timeout: Duration
    ) async throws(FenceError) -> ChildProcess.Outcome {
        guard let executable = ChildProcess.locate(self.settings.executable) else {
            throw .misconfigured(
                "script: `\(self.settings.executable)` is not an executable file; give the absolute path of a "
                    + "program with the execute bit set")
        }
        var environment = self.settings.environment
        environment["VIGIL_NODE"] = node
        environment["VIGIL_TERM"] = String(term)
        environment["VIGIL_ACTION"] = action
        do {
            return try await ChildProcess.run(
                executable: executable, arguments: self.settings.arguments, environment: environment, timeout: timeout)
        } catch {
            throw .failed("script \(self.name): \(error.description)")
        }
    }

    private func abnormal(_ outcome: ChildProcess.Outcome, action: String, timeout: Duration) -> FenceError {
        switch outcome.status {
        case .timedOut:
            return .timedOut(
                "script \(self.name) \(action) timed out after \(timeout.fenceText) and was killed with its process group"
                    + "\(Self.because(outcome)); make it finish sooner or raise the timeout")
        case .cancelled:
            return .failed("script \(self.name) \(action): cancelled, the program was killed")
        case .signaled(let signal):
            return .failed("script \(self.name) \(action) was killed by signal \(signal)\(Self.because(outcome))")
        case .exited(let code):
            return .failed("script \(self.name) \(action) exited \(code)\(Self.because(outcome))")
        }
    }

    private static func because(_ outcome: ChildProcess.Outcome) -> String {
        outcome.reason(scrubbing: nil).map { ": \($0)" } ?? ""
    }
}
