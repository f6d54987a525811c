import Foundation
import Logging
import Testing

@testable import VigilAgent

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The script driver with real child processes (`/bin/sh` scripts in a temporary directory).
@Suite(.timeLimit(.minutes(1)))
struct RecoveryScriptTests {
    static let request = RecoveryRequest(
        node: "compute-4", term: 12, fencedAt: Date(timeIntervalSince1970: 1_796_000_000), timeout: .seconds(20))

    /// Writes an executable `/bin/sh` script and runs `body` with its path and directory.
    static func withScript<T>(_ text: String, _ body: (String, URL) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-script-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("recover.sh").path
        try ("#!/bin/sh\n" + text).write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: path)
        return try await body(path, directory)
    }

    @Test func exitZeroIsDoneAndTheScriptSeesNodeTermAndFenceTime() async throws {
        try await Self.withScript(#"echo "$VIGIL_NODE $VIGIL_TERM $VIGIL_FENCED_AT $1" > "$(dirname "$0")/seen"; echo evacuating; echo all moved"#) { path, directory in
            let driver = ScriptRecoveryDriver(settings: .init(path: path, arguments: ["--all"]), logger: Logger(label: "test"))
            let outcome = try await driver.recover(Self.request)
            #expect(outcome == RecoveryOutcome(method: "script", detail: "\(path) exited 0: all moved"))
            let seen = try String(contentsOf: directory.appendingPathComponent("seen"), encoding: .utf8)
            #expect(seen == "compute-4 12 2026-11-30T00:53:20Z --all\n")
        }
    }

    @Test func nonZeroExitFailsWithItsLastLine() async throws {
        try await Self.withScript("echo 'nova: host not found' >&2; exit 3") { path, _ in
            let driver = ScriptRecoveryDriver(settings: .init(path: path), logger: Logger(label: "test"))
            let error = try await #require(throws: RecoveryError.self) { try await driver.recover(Self.request) }
            #expect(error == .failed("script: \(path) exited with 3 for compute-4: nova: host not found; fix the script or recover by hand"))
        }
    }

    @Test func scriptPastTheTimeoutIsKilled() async throws {
        try await Self.withScript(#"echo $$ > "$(dirname "$0")/pid"; trap '' TERM; echo started; while true; do sleep 1; done"#) { path, directory in
            let driver = ScriptRecoveryDriver(settings: .init(path: path, killGrace: .milliseconds(300)), logger: Logger(label: "test"))
            var request = Self.request
            request.timeout = .milliseconds(700)
            let error = try await #require(throws: RecoveryError.self) { try await driver.recover(request) }
            #expect(error.message.hasPrefix("script: \(path) did not finish within 0.7 seconds for compute-4 and was killed"))
            #expect(error == .timedOut(error.message))
            let pidText = try String(contentsOf: directory.appendingPathComponent("pid"), encoding: .utf8)
            let pid = try #require(Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
            #expect(kill(pid, 0) != 0, "the script (pid \(pid)) still runs")
        }
    }

    @Test func missingExecutableIsMisconfigured() async throws {
        let driver = ScriptRecoveryDriver(settings: .init(path: "/nonexistent/recover"), logger: Logger(label: "test"))
        let error = try await #require(throws: RecoveryError.self) { try await driver.recover(Self.request) }
        #expect(error == .misconfigured("script: /nonexistent/recover is not an executable file; check the recovery script path and its mode"))
    }
}
