import Foundation
import Logging
import NIOCore
import NIOPosix
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

    /// Whether `pid` is gone (or a zombie waiting for a reaper that is not ours).
    static func isGone(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return true }
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        return stat.split(separator: ")").last?.trimmingCharacters(in: .whitespaces).hasPrefix("Z") ?? true
    }

    /// Polls until `pid` is gone (a SIGKILLed process ends a moment after the signal);
    /// `false` if it still runs after 10 s, a hang guard.
    static func becomesGone(_ pid: Int32) async -> Bool {
        let started = ContinuousClock.now
        while ContinuousClock.now - started < .seconds(10) {
            if Self.isGone(pid) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return Self.isGone(pid)
    }

    static func pid(in file: URL) throws -> Int32 {
        let text = try String(contentsOf: file, encoding: .utf8)
        return try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    @Test func scriptIgnoringSIGTERMIsKilledAtTheTimeoutWithWhatItStarted() async throws {
        let script = #"d=$(dirname "$0"); trap '' TERM; sleep 300 & echo $! > "$d/child"; echo $$ > "$d/pid"; echo started; while true; do sleep 1; done"#
        try await Self.withScript(script) { path, directory in
            let driver = ScriptRecoveryDriver(settings: .init(path: path, killGrace: .milliseconds(300)), logger: Logger(label: "test"))
            var request = Self.request
            request.timeout = .milliseconds(700)
            let error = try await #require(throws: RecoveryError.self) { try await driver.recover(request) }
            #expect(error == .timedOut("script: \(path) did not finish within 0.7 seconds for compute-4 and was killed; last output: started"))
            let pid = try Self.pid(in: directory.appendingPathComponent("pid"))
            let child = try Self.pid(in: directory.appendingPathComponent("child"))
            #expect(Self.isGone(pid), "the script (pid \(pid)) still runs")
            #expect(await Self.becomesGone(child), "the script's child (pid \(child)) still runs")
        }
    }

    @Test func scriptPastTheTimeoutGetsSIGTERMFirst() async throws {
        // The agent's threads block SIGTERM; a child spawned with that mask would never
        // see it. This script records the signal and exits.
        let script = #"d=$(dirname "$0"); trap 'echo TERM > "$d/signal"; exit 0' TERM; echo waiting; while true; do sleep 0.1; done"#
        try await Self.withScript(script) { path, directory in
            let driver = ScriptRecoveryDriver(settings: .init(path: path, killGrace: .seconds(20)), logger: Logger(label: "test"))
            var request = Self.request
            request.timeout = .milliseconds(500)
            let error = try await #require(throws: RecoveryError.self) { try await driver.recover(request) }
            #expect(error == .timedOut(error.message))
            let signal = try String(contentsOf: directory.appendingPathComponent("signal"), encoding: .utf8)
            #expect(signal == "TERM\n")
        }
    }

    @Test func scriptInheritsNoSocketOfTheAgent() async throws {
        // SwiftNIO's sockets are not close-on-exec: without closing them in the child, a
        // script would hold the agent's listening sockets open.
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        defer { listener.close(promise: nil) }
        try await Self.withScript(#"ls -l /proc/$$/fd > "$(dirname "$0")/fds""#) { path, directory in
            let driver = ScriptRecoveryDriver(settings: .init(path: path), logger: Logger(label: "test"))
            _ = try await driver.recover(Self.request)
            let descriptors = try String(contentsOf: directory.appendingPathComponent("fds"), encoding: .utf8)
            #expect(descriptors.contains("/dev/null"), "the listing is not the script's descriptors: \(descriptors)")
            #expect(!descriptors.contains("socket:"), "the script inherited sockets: \(descriptors)")
        }
    }

    @Test func missingExecutableIsMisconfigured() async throws {
        let driver = ScriptRecoveryDriver(settings: .init(path: "/nonexistent/recover"), logger: Logger(label: "test"))
        let error = try await #require(throws: RecoveryError.self) { try await driver.recover(Self.request) }
        #expect(error == .misconfigured("script: /nonexistent/recover is not an executable file; check the recovery script path and its mode"))
    }
}
