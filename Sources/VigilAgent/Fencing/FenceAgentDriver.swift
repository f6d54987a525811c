/// Fences by running a ClusterLabs fence agent as a child process, with the
/// fence-agent API (https://github.com/ClusterLabs/fence-agents/blob/main/doc/FenceAgentAPI.md):
/// options as `key=value` lines on stdin, never on argv; for `off`, exit 0 means done
/// and 1 failure; for `status`, 0 means ON, 2 OFF and 1 failure. After `off` succeeds
/// the driver runs `status` and requires OFF, so the confirmation is the agent's
/// reading of the power, not only its word that it asked.
public struct FenceAgentDriver: FenceDriver {
    public let settings: FenceAgentSettings

    /// The agent's file name: `fence_redfish`, `fence_ipmilan`, ...
    public var method: String {
        String(self.settings.agent.split(separator: "/").last ?? Substring(self.settings.agent))
    }

    public init(settings: FenceAgentSettings) {
        self.settings = settings
    }

    public func fence(_ request: FenceRequest) async throws(FenceError) -> FenceConfirmation {
        let deadline = FenceDeadline(after: request.timeout)
        let (executable, password) = try self.prepare()
        let off = try await self.run("off", executable: executable, password: password, deadline: deadline)
        switch off.status {
        case .exited(0):
            break
        case .exited(let code):
            throw .refused(
                "\(self.method) off failed (exit \(code))\(Self.because(off, password)); "
                    + "check the agent's options and credentials (run it by hand with -o status)")
        default:
            throw self.abnormal(off, action: "off", deadline: deadline, password: password)
        }

        let status = try await self.run("status", executable: executable, password: password, deadline: deadline)
        switch status.status {
        case .exited(2):
            return FenceConfirmation(method: self.method, detail: "\(self.method) off succeeded, then status reported OFF")
        case .exited(0):
            throw .notConfirmed(
                "\(self.method): off succeeded but status still reports ON; the node may not be powered off, "
                    + "check it by hand")
        case .exited(let code):
            throw .notConfirmed(
                "\(self.method): off succeeded but status failed (exit \(code))\(Self.because(status, password)); "
                    + "the power state is unknown, check it by hand")
        default:
            throw self.abnormal(status, action: "status", deadline: deadline, password: password)
        }
    }

    public func powerState(of node: String, timeout: Duration) async throws(FenceError) -> PowerState {
        let deadline = FenceDeadline(after: timeout)
        let (executable, password) = try self.prepare()
        let status = try await self.run("status", executable: executable, password: password, deadline: deadline)
        switch status.status {
        case .exited(0): return .on
        case .exited(2): return .off
        case .exited(let code):
            throw .refused("\(self.method) status failed (exit \(code))\(Self.because(status, password))")
        default:
            throw self.abnormal(status, action: "status", deadline: deadline, password: password)
        }
    }

    // MARK: - Running the agent

    private func prepare() throws(FenceError) -> (String, FenceSecret?) {
        guard let executable = ChildProcess.locate(self.settings.agent) else {
            throw .misconfigured(
                "\(self.method): fence agent `\(self.settings.agent)` not found (looked in \(ChildProcess.searchPath)); "
                    + "install Debian's fence-agents or give the agent's full path")
        }
        if let (option, problem) = self.settings.optionProblem {
            throw .misconfigured("\(self.method): option `\(option)` \(problem)")
        }
        let password = try self.settings.passwordFile.map { path throws(FenceError) in
            try FenceSecret.read(fromFile: path, method: self.method)
        }
        return (executable, password)
    }

    private func run(
        _ action: String, executable: String, password: FenceSecret?, deadline: FenceDeadline
    ) async throws(FenceError) -> ChildProcess.Outcome {
        var lines = ["action=\(action)"]
        lines += self.settings.options.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        if let password { lines.append("password=\(password.reveal)") }
        let remaining = deadline.remaining
        guard remaining > .zero else {
            throw .timedOut("\(self.method) \(action): the \(deadline.budget.fenceText) deadline passed before it could run")
        }
        do {
            return try await ChildProcess.run(
                executable: executable, input: lines.joined(separator: "\n") + "\n", timeout: remaining)
        } catch {
            throw .failed("\(self.method): \(password?.scrub(error.description) ?? error.description)")
        }
    }

    private func abnormal(
        _ outcome: ChildProcess.Outcome, action: String, deadline: FenceDeadline, password: FenceSecret?
    ) -> FenceError {
        switch outcome.status {
        case .timedOut:
            return .timedOut(
                "\(self.method) \(action) timed out after \(deadline.budget.fenceText) and was killed"
                    + "\(Self.because(outcome, password)); check that the fence device answers, or raise the timeout")
        case .cancelled:
            return .failed("\(self.method) \(action): cancelled, the agent was killed")
        case .signaled(let signal):
            return .failed("\(self.method) \(action) was killed by signal \(signal)\(Self.because(outcome, password))")
        case .exited(let code):
            return .failed("\(self.method) \(action) exited \(code)\(Self.because(outcome, password))")
        }
    }

    /// `: <the agent's error line>`, or nothing.
    private static func because(_ outcome: ChildProcess.Outcome, _ password: FenceSecret?) -> String {
        outcome.reason(scrubbing: password).map { ": \($0)" } ?? ""
    }
}
