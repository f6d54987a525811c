import Foundation
import Subprocess

#if canImport(System)
import System
#else
import SystemPackage
#endif

/// Runs one fence helper (a fence agent, ipmitool, an operator's script) as a child
/// process, bounded in time, and hands back its exit status and the tail of what it
/// wrote. Shared by the drivers that fence through a program.
///
/// - The child gets its own process group, so a timeout (or the caller's cancellation)
///   kills it *and* whatever it started (a shell script's `sleep`, an agent's
///   `ipmitool`) with SIGKILL: nothing is left holding the BMC.
/// - The environment is built, not inherited: the agent's own environment may hold
///   the cluster key (`VIGIL_ENCRYPT`), which no helper should see.
/// - Secrets travel on stdin or in the environment, never on argv (which every user
///   of the host can read in `ps`).
/// - stdout and stderr are both drained concurrently (a full pipe would block the
///   child), and only their last `captureLimit` bytes are kept.
enum ChildProcess {
    /// How a run ended.
    enum Status: Sendable, Equatable {
        /// The child exited with this code.
        case exited(Int32)
        /// The child was killed by this signal (not by us).
        case signaled(Int32)
        /// The deadline passed and the child's process group was killed.
        case timedOut
        /// The caller's task was cancelled and the child's process group was killed.
        case cancelled
    }

    struct Outcome: Sendable, Equatable {
        var status: Status
        /// The last `captureLimit` bytes of stdout, as text.
        var standardOutput: String
        /// The last `captureLimit` bytes of stderr, as text.
        var standardError: String

        /// The line that says what went wrong, for an error message: the last line
        /// of stderr (else stdout) that mentions an error or failure, else the last
        /// non-empty one; log timestamps and Python's deprecation warnings dropped,
        /// the secret scrubbed, at most 300 characters. `nil` if the child said nothing.
        func reason(scrubbing secret: FenceSecret?) -> String? {
            func lines(_ text: String) -> [String] {
                text.split(whereSeparator: \.isNewline)
                    .map { Self.cleaned(String($0)) }
                    .filter { !$0.isEmpty && !$0.contains("DeprecationWarning") && !$0.hasPrefix("from ") }
            }
            let candidates = lines(self.standardError).isEmpty ? lines(self.standardOutput) : lines(self.standardError)
            let telling = candidates.last { line in
                let lower = line.lowercased()
                return lower.contains("error") || lower.contains("fail") || lower.contains("unable")
            }
            guard var line = telling ?? candidates.last else { return nil }
            if let secret { line = secret.scrub(line) }
            return line.count > 300 ? String(line.prefix(300)) + "…" : line
        }

        /// Drops a leading `2026-12-01 07:43:38,384 ` log timestamp and terminal colour codes.
        private static func cleaned(_ line: String) -> String {
            var text = line.replacingOccurrences(of: "\u{1B}\\[[0-9;]*m", with: "", options: .regularExpression)
            text = text.replacingOccurrences(
                of: "^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9:.,]+ ", with: "", options: .regularExpression)
            return text.trimmingCharacters(in: .whitespaces)
        }
    }

    /// Why a child could not be run at all.
    struct LaunchError: Error, Sendable, CustomStringConvertible {
        var description: String
    }

    /// The `PATH` children get, and where executables named without a slash are
    /// looked for: fence agents live in /usr/sbin, which a service's PATH may lack.
    static let searchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// Default for `captureLimit`: 16 KiB per stream, plenty for an error line.
    static let defaultCaptureLimit = 16 << 10

    /// Finds `name` (an absolute path, or a name looked up in `searchPath`) as an
    /// executable file. `nil` if there is none.
    static func locate(_ name: String) -> String? {
        func isExecutableFile(_ path: String) -> Bool {
            var info = stat()
            return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG && access(path, X_OK) == 0
        }
        if name.contains("/") {
            return isExecutableFile(name) ? name : nil
        }
        return Self.searchPath.split(separator: ":").map { "\($0)/\(name)" }.first(where: isExecutableFile)
    }

    /// Runs `executable` and waits for it, at most `timeout`.
    /// - Parameters:
    ///   - executable: an absolute path (see `locate`).
    ///   - arguments: argv after the program name; must hold no secret.
    ///   - environment: the child's whole environment, added to `PATH` and `LC_ALL=C`
    ///     (so that messages we parse are in English).
    ///   - input: written to the child's stdin, which is then closed; `nil`: an
    ///     empty stdin (closed at once).
    ///   - timeout: past this the process group is killed and the status is `.timedOut`.
    static func run(
        executable: String, arguments: [String] = [], environment: [String: String] = [:],
        input: String? = nil, timeout: Duration, captureLimit: Int = Self.defaultCaptureLimit
    ) async throws(LaunchError) -> Outcome {
        _ = Self.ignoreSIGPIPE

        var variables: [Environment.Key: String] = [:]
        for (key, value) in ["PATH": Self.searchPath, "LC_ALL": "C"].merging(environment, uniquingKeysWith: { $1 }) {
            guard let key = Environment.Key(rawValue: key) else {
                throw LaunchError(description: "environment variable name `\(key)` is not valid")
            }
            variables[key] = value
        }
        var options = PlatformOptions()
        // A group of its own (pgid = its pid), so that killing -pgid reaches every
        // process it started.
        options.processGroupID = 0

        let configuration = Configuration(
            executable: .path(FilePath(executable)), arguments: Arguments(arguments),
            environment: .custom(variables), platformOptions: options)
        do {
            let result = try await Subprocess.run(
                configuration, input: .string(input ?? ""), output: .sequence, error: .sequence
            ) { execution in
                try await Self.supervise(execution, timeout: timeout, captureLimit: captureLimit)
            }
            let captured = result.closureResult
            let status: Status
            if let ending = captured.ending {
                status = ending
            } else {
                switch result.terminationStatus {
                case .exited(let code): status = .exited(code)
                case .signaled(let signal): status = .signaled(signal)
                }
            }
            return Outcome(status: status, standardOutput: captured.output, standardError: captured.error)
        } catch let error as LaunchError {
            throw error
        } catch {
            throw LaunchError(description: "cannot run \(executable): \(error)")
        }
    }

    private enum Event: Sendable {
        case output([UInt8])
        case error([UInt8])
        case exited
        case deadline
        case cancelled
    }

    private struct Captured: Sendable {
        var output: String
        var error: String
        /// Set when we killed the group; otherwise the child's own exit counts.
        var ending: Status?
    }

    /// How often the supervisor looks whether the child has exited (a cheap
    /// non-reaping `waitid`).
    private static let exitPollInterval: Duration = .milliseconds(20)

    /// Drains both pipes and watches for the child's exit while a timer runs. When
    /// the timer (or the caller's cancellation) wins, kills the whole process group,
    /// then waits for the exit as usual. When the child exits by itself, whatever it
    /// left running in its group is killed too: a helper must not leave a process
    /// behind that still talks to the BMC.
    private static func supervise(
        _ execution: Execution<StringInput<String, UTF8>, SequenceOutput, SequenceOutput>, timeout: Duration,
        captureLimit: Int
    ) async throws -> Captured {
        let pid = execution.processIdentifier.value
        return try await withThrowingTaskGroup(of: Event.self) { group in
            group.addTask { .output(await Self.tail(of: execution.standardOutput, limit: captureLimit)) }
            group.addTask { .error(await Self.tail(of: execution.standardError, limit: captureLimit)) }
            group.addTask {
                while !Self.hasExited(pid) {
                    // Cancelled only once the supervisor is done; then stop polling.
                    do { try await Task.sleep(for: Self.exitPollInterval) } catch { break }
                }
                return .exited
            }
            group.addTask {
                do {
                    try await Task.sleep(for: timeout)
                    return .deadline
                } catch {
                    return .cancelled
                }
            }
            var captured = Captured(output: "", error: "", ending: nil)
            var pending = 3  // stdout, stderr, exit
            var killed = false
            while pending > 0, let event = try await group.next() {
                switch event {
                case .output(let bytes):
                    captured.output = String(decoding: bytes, as: UTF8.self)
                    pending -= 1
                case .error(let bytes):
                    captured.error = String(decoding: bytes, as: UTF8.self)
                    pending -= 1
                case .exited:
                    pending -= 1
                case .deadline:
                    captured.ending = .timedOut
                    killed = true
                    Self.killGroup(pid)
                case .cancelled:
                    // The caller gave up: take the child down with it.
                    captured.ending = .cancelled
                    killed = true
                    Self.killGroup(pid)
                }
            }
            if !killed {
                // The child has exited but is not reaped yet (Subprocess reaps after
                // this body returns), so its pid, which is also the group id, cannot
                // have been reused: this reaches only what it left behind. (When the
                // caller was cancelled, Subprocess may have killed the child first;
                // then this takes down the rest of its group.)
                if Task.isCancelled { captured.ending = .cancelled }
                Self.killGroup(pid)
            }
            group.cancelAll()
            return captured
        }
    }

    private static func killGroup(_ pid: pid_t) {
        // ESRCH (all gone already) is fine: there is nothing left to kill.
        _ = kill(-pid, SIGKILL)
        _ = kill(pid, SIGKILL)
    }

    /// Whether the child has terminated, without reaping it (`WNOWAIT`), so that
    /// Subprocess still collects its status. ECHILD (already reaped) counts as exited.
    private static func hasExited(_ pid: pid_t) -> Bool {
        var info = siginfo_t()
        let result = waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT)
        if result != 0 {
            return errno != EINTR
        }
        return info._sifields._sigchld.si_pid == pid
    }

    /// Reads `stream` to its end and returns its last `limit` bytes. A stream cut
    /// short (Subprocess stops reading once the child has exited, even if a process it
    /// left behind still holds the pipe) ends the capture; it is not an error.
    private static func tail(of stream: SubprocessOutputSequence, limit: Int) async -> [UInt8] {
        var kept: [UInt8] = []
        do {
            for try await buffer in stream {
                buffer.withUnsafeBytes { kept.append(contentsOf: $0) }
                if kept.count > 2 * limit {
                    kept.removeFirst(kept.count - limit)
                }
            }
        } catch {
            // Keep what arrived.
        }
        if kept.count > limit {
            kept.removeFirst(kept.count - limit)
        }
        return kept
    }

    /// A child that exits before reading all its stdin would otherwise kill the
    /// agent with SIGPIPE on our next write; with it ignored the write fails with
    /// EPIPE instead. Servers ignore SIGPIPE as a rule (SwiftNIO avoids it per socket).
    private static let ignoreSIGPIPE: Void = {
        _ = signal(SIGPIPE, SIG_IGN)
    }()
}
