import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Recovery by an operator's executable, for clouds Vigil has no driver for.
///
/// The program runs with the agent's environment plus `VIGIL_NODE` (the fenced node),
/// `VIGIL_TERM` (the leader's term) and `VIGIL_FENCED_AT` (ISO 8601 UTC, the same on
/// every retry, usable as an idempotency key), in a process group of its own (see
/// `SpawnedProcess`), stdin from /dev/null, stdout and stderr to a temporary file whose
/// last line is reported. Exit 0 is done; any other exit, or a signal, is a failure;
/// past the request's timeout its group gets SIGTERM, then SIGKILL after `killGrace`,
/// and the call throws `RecoveryError.timedOut`. Like every recovery, it runs only for
/// a fenced node.
public struct ScriptRecoveryDriver: RecoveryDriver {
    public struct Settings: Sendable, Equatable {
        /// Absolute path of the executable.
        public var path: String
        /// Arguments after the path (default none).
        public var arguments: [String]
        /// Between SIGTERM and SIGKILL on timeout (default 5 s).
        public var killGrace: Duration

        public init(path: String, arguments: [String] = [], killGrace: Duration = .seconds(5)) {
            self.path = path
            self.arguments = arguments
            self.killGrace = killGrace
        }
    }

    public let method = "script"
    public let settings: Settings
    private let logger: Logger

    public init(settings: Settings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    public func recover(_ request: RecoveryRequest) async throws(RecoveryError) -> RecoveryOutcome {
        let path = self.settings.path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw .misconfigured("script: \(path) is not an executable file; check the recovery script path and its mode")
        }
        let output = FileManager.default.temporaryDirectory
            .appendingPathComponent("vigil-recovery-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: output) }

        var environment = ProcessInfo.processInfo.environment
        environment["VIGIL_NODE"] = request.node
        environment["VIGIL_TERM"] = String(request.term)
        environment["VIGIL_FENCED_AT"] = MasakariRecoveryDriver.generatedTime(request.fencedAt)
        var spawned: SpawnedProcess?
        for attempt in 1...20 {
            do {
                spawned = try SpawnedProcess.spawn(path, arguments: self.settings.arguments, environment: environment, output: output.path)
                break
            } catch where error.isTextFileBusy && attempt < 20 {
                try? await Task.sleep(for: .milliseconds(50))
            } catch {
                throw .failed("script: \(error.description)")
            }
        }
        guard let child = spawned else { throw .failed("script: cannot start \(path)") }
        let timeout = request.timeout
        let finished = await child.wait(atMost: timeout)
        let outcome: (exit: SpawnedProcess.Exit?, timedOut: Bool)
        if let finished {
            outcome = (finished, false)
        } else {
            // Past the deadline (or cancelled): stop it and its group, and reap it.
            outcome = (await child.stop(grace: self.settings.killGrace), true)
        }
        let pid = child.pid

        let lastLine = Self.lastLine(of: output)
        if outcome.timedOut {
            throw .timedOut(
                "script: \(path) did not finish within \(timeout) for \(request.node) and was killed\(lastLine.map { "; last output: \($0)" } ?? "")")
        }
        switch outcome.exit {
        case nil:
            throw .failed("script: lost track of \(path) (pid \(pid))")
        case .signalled(let signal):
            throw .failed("script: \(path) was killed by signal \(signal) for \(request.node)\(lastLine.map { "; last output: \($0)" } ?? "")")
        case .exited(let status) where status != 0:
            throw .failed(
                "script: \(path) exited with \(status) for \(request.node)\(lastLine.map { ": \($0)" } ?? ""); fix the script or recover by hand")
        case .exited:
            break
        }
        self.logger.info("recovery script succeeded", metadata: ["ha.node": "\(request.node)", "ha.term": "\(request.term)"])
        return RecoveryOutcome(method: self.method, detail: "\(path) exited 0\(lastLine.map { ": \($0)" } ?? "")")
    }

    /// The last non-empty line of the output, at most 300 characters.
    private static func lastLine(of file: URL) -> String? {
        guard let data = try? Data(contentsOf: file) else { return nil }
        let tail = data.suffix(4096)
        let line = String(decoding: tail, as: UTF8.self).split(whereSeparator: \.isNewline).last
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard let line, !line.isEmpty else { return nil }
        return line.count > 300 ? String(line.prefix(300)) + "..." : line
    }
}
