/// Fences with `ipmitool ... chassis power off`, then asks `chassis power status`
/// until it answers `Chassis Power is off`. The password goes in `IPMI_PASSWORD` with
/// `-E`, never on argv.
public struct IPMIToolFenceDriver: FenceDriver {
    public let settings: IPMIToolSettings
    public var method: String { "ipmitool" }

    public init(settings: IPMIToolSettings) {
        self.settings = settings
    }

    public func fence(_ request: FenceRequest) async throws(FenceError) -> FenceConfirmation {
        let deadline = FenceDeadline(after: request.timeout)
        let (executable, password) = try self.prepare()
        let off = try await self.run(["chassis", "power", "off"], executable, password, deadline)
        if off.status != .exited(0) {
            // An off node may refuse the command; only the status decides.
            if (try? await self.readState(executable, password, deadline)) == .off {
                return FenceConfirmation(method: self.method, detail: "Chassis Power is off (power off did not succeed: already off)")
            }
            throw self.failure(off, doing: "chassis power off", deadline: deadline, password: password)
        }
        var last: PowerState = .unknown
        var lastError: FenceError?
        repeat {
            do throws(FenceError) {
                last = try await self.readState(executable, password, deadline)
                lastError = nil
                if last == .off {
                    return FenceConfirmation(
                        method: self.method, detail: "Chassis Power is off \(deadline.elapsed.fenceText) after power off")
                }
            } catch {
                if error.isTimeout { break }
                lastError = error
            }
        } while await deadline.sleep(self.settings.pollInterval)
        throw .notConfirmed(
            "\(self.place): power off accepted, but the power is still \(last) at the \(deadline.budget.fenceText) deadline"
                + "\(lastError.map { " (\($0.message))" } ?? ""); check the node's power by hand")
    }

    public func powerState(of node: String, timeout: Duration) async throws(FenceError) -> PowerState {
        let deadline = FenceDeadline(after: timeout)
        let (executable, password) = try self.prepare()
        return try await self.readState(executable, password, deadline)
    }

    // MARK: - Running ipmitool

    private var place: String { "ipmitool \(self.settings.host):\(self.settings.port)" }

    private func prepare() throws(FenceError) -> (String, FenceSecret) {
        guard let executable = ChildProcess.locate(self.settings.executable) else {
            throw .misconfigured(
                "ipmitool: `\(self.settings.executable)` not found (looked in \(ChildProcess.searchPath)); "
                    + "install Debian's ipmitool or give its full path as `executable`")
        }
        guard (1...65535).contains(self.settings.port), !self.settings.host.isEmpty,
            !self.settings.host.hasPrefix("-"), !self.settings.username.hasPrefix("-")
        else {
            throw .misconfigured("\(self.place): `host`, `port` (1-65535) and `username` must be set")
        }
        let password = try FenceSecret.read(fromFile: self.settings.passwordFile, method: self.method)
        if self.settings.interface == "lanplus", password.reveal.utf8.count > 20 {
            // IPMI v2 (RAKP) keys are at most 20 bytes; ipmitool refuses longer ones.
            throw .misconfigured(
                "\(self.place): the password in \(self.settings.passwordFile) is longer than the 20 bytes IPMI v2 allows; "
                    + "set a shorter BMC password")
        }
        return (executable, password)
    }

    private func readState(
        _ executable: String, _ password: FenceSecret, _ deadline: FenceDeadline
    ) async throws(FenceError) -> PowerState {
        let outcome = try await self.run(["chassis", "power", "status"], executable, password, deadline)
        guard outcome.status == .exited(0) else {
            throw self.failure(outcome, doing: "chassis power status", deadline: deadline, password: password)
        }
        let text = outcome.standardOutput.lowercased()
        if text.contains("chassis power is off") { return .off }
        if text.contains("chassis power is on") { return .on }
        return .unknown
    }

    private func run(
        _ command: [String], _ executable: String, _ password: FenceSecret, _ deadline: FenceDeadline
    ) async throws(FenceError) -> ChildProcess.Outcome {
        var arguments = ["-I", self.settings.interface, "-H", self.settings.host, "-p", String(self.settings.port),
                         "-U", self.settings.username, "-E"]
        if let cipher = self.settings.cipherSuite { arguments += ["-C", String(cipher)] }
        if let privilege = self.settings.privilegeLevel { arguments += ["-L", privilege] }
        let remaining = deadline.remaining
        guard remaining > .zero else {
            throw .timedOut("\(self.place): the \(deadline.budget.fenceText) deadline passed")
        }
        do {
            return try await ChildProcess.run(
                executable: executable, arguments: arguments + command,
                environment: ["IPMI_PASSWORD": password.reveal], timeout: remaining)
        } catch {
            throw .failed("\(self.place): \(password.scrub(error.description))")
        }
    }

    private func failure(
        _ outcome: ChildProcess.Outcome, doing command: String, deadline: FenceDeadline, password: FenceSecret
    ) -> FenceError {
        let reason = outcome.reason(scrubbing: password).map { ": \($0)" } ?? ""
        switch outcome.status {
        case .exited(let code):
            let line = "\(self.place): \(command) failed (exit \(code))\(reason)"
            if reason.lowercased().contains("unable to establish") {
                return .refused(
                    line + "; the BMC did not accept the session: check `username`, the password file, "
                        + "`cipher_suite` and that IPMI over LAN is enabled")
            }
            return .refused(line)
        case .timedOut:
            return .timedOut("\(self.place): \(command) timed out after \(deadline.budget.fenceText) and was killed\(reason)")
        case .cancelled:
            return .failed("\(self.place): \(command) cancelled, ipmitool was killed")
        case .signaled(let signal):
            return .failed("\(self.place): \(command) was killed by signal \(signal)\(reason)")
        }
    }
}
