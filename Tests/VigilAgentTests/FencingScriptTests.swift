import Foundation
import Testing

@testable import VigilAgent

/// The script driver, and the child-process handling every program-based driver
/// shares: the environment it gets, exit codes, and the kill at the timeout.
@Suite("Fencing: scripts and child processes")
struct FencingScriptTests {
    @Test func theScriptGetsNodeTermAndActionAndNothingOfTheAgentsEnvironment() async throws {
        let directory = try FencingComponents.makeDirectory()
        defer { FencingComponents.removeDirectory(directory) }
        let script = try FencingComponents.script(
            """
            env | sort > "\(directory)/env-$VIGIL_ACTION"
            [ "$VIGIL_ACTION" = status ] && exit 2
            exit 0
            """, at: "\(directory)/fence.sh")
        let driver = ScriptFenceDriver(
            settings: ScriptFenceSettings(executable: script, environment: ["PDU_CREDENTIALS": "/etc/vigil/pdu"]))

        let confirmation = try await driver.fence(FenceRequest(node: "compute-07", term: 42, timeout: FencingComponents.hangGuard))
        #expect(confirmation.method == "script")
        #expect(try await driver.powerState(of: "compute-07", timeout: FencingComponents.hangGuard) == .off)

        let variables = try String(contentsOfFile: "\(directory)/env-off", encoding: .utf8)
            .split(separator: "\n").compactMap { $0.split(separator: "=", maxSplits: 1).first.map(String.init) }
        for expected in ["VIGIL_NODE", "VIGIL_TERM", "VIGIL_ACTION", "PDU_CREDENTIALS", "PATH", "LC_ALL"] {
            #expect(variables.contains(expected), "\(expected)")
        }
        // sh adds PWD (and maybe SHLVL, `_`); anything else would come from the agent's environment.
        let allowed: Set = ["VIGIL_NODE", "VIGIL_TERM", "VIGIL_ACTION", "PDU_CREDENTIALS", "PATH", "LC_ALL", "PWD", "SHLVL", "_", "OLDPWD"]
        #expect(Set(variables).isSubset(of: allowed), "\(Set(variables).subtracting(allowed))")
        let values = try String(contentsOfFile: "\(directory)/env-off", encoding: .utf8)
        #expect(values.contains("VIGIL_NODE=compute-07\n") && values.contains("VIGIL_TERM=42\n"))
        #expect(values.contains("VIGIL_ACTION=off\n"))
    }

    @Test func exitCodesMapToOffOnAndFailures() async throws {
        let directory = try FencingComponents.makeDirectory()
        defer { FencingComponents.removeDirectory(directory) }
        func driver(_ code: Int, stderr: String = "") throws -> ScriptFenceDriver {
            let path = try FencingComponents.script(
                "echo '\(stderr)' >&2; exit \(code)", at: "\(directory)/exit-\(code)")
            return ScriptFenceDriver(settings: ScriptFenceSettings(executable: path))
        }
        #expect(try await driver(0).powerState(of: "n", timeout: FencingComponents.hangGuard) == .on)
        #expect(try await driver(2).powerState(of: "n", timeout: FencingComponents.hangGuard) == .off)
        let failure = await #expect(throws: FenceError.self) {
            try await driver(1, stderr: "PDU 10.0.9.1: outlet 7 did not switch").fence(
                FenceRequest(node: "n", term: 1, timeout: FencingComponents.hangGuard))
        }
        #expect(failure?.isRefused == true)
        #expect(failure?.message.contains("exit 1") == true)
        #expect(failure?.message.contains("PDU 10.0.9.1: outlet 7 did not switch") == true, "\(String(describing: failure))")
        let statusFailure = await #expect(throws: FenceError.self) {
            try await driver(3).powerState(of: "n", timeout: FencingComponents.hangGuard)
        }
        #expect(statusFailure?.message.contains("exit 3") == true)
    }

    @Test func aHangingScriptIsKilledWithItsChildrenAtTheTimeout() async throws {
        let directory = try FencingComponents.makeDirectory()
        defer { FencingComponents.removeDirectory(directory) }
        // The script starts a child (as a BMC tool would) and both hang.
        let script = try FencingComponents.script(
            """
            echo $$ > "\(directory)/script.pid"
            sleep 600 &
            echo $! > "\(directory)/child.pid"
            echo "waiting for the PDU" >&2
            wait
            """, at: "\(directory)/hang.sh")
        let driver = ScriptFenceDriver(settings: ScriptFenceSettings(executable: script))

        let started = ContinuousClock.now
        let error = await #expect(throws: FenceError.self) {
            try await driver.fence(FenceRequest(node: "compute-01", term: 1, timeout: .seconds(1)))
        }
        let elapsed = ContinuousClock.now - started

        #expect(error?.isTimeout == true, "\(String(describing: error))")
        #expect(error?.message.contains("timed out after 1s and was killed") == true, "\(String(describing: error))")
        #expect(error?.message.contains("waiting for the PDU") == true, "stderr kept: \(String(describing: error))")
        #expect(elapsed < FencingComponents.hangGuard, "hang guard: returned after \(elapsed)")
        let scriptPID = Int32(try String(contentsOfFile: "\(directory)/script.pid", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines))!
        let childPID = Int32(try String(contentsOfFile: "\(directory)/child.pid", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines))!
        #expect(!FencingComponents.isAlive(scriptPID), "the script was killed")
        // The orphaned sleep is reaped by init, not by us: wait for it to go.
        #expect(await FencingComponents.eventually(10) { !FencingComponents.isAlive(childPID) }, "its child too")
    }

    @Test func aScriptThatExitsLeavingAChildBehindHasTheChildKilled() async throws {
        let directory = try FencingComponents.makeDirectory()
        defer { FencingComponents.removeDirectory(directory) }
        let script = try FencingComponents.script(
            """
            sleep 600 &
            echo $! > "\(directory)/child.pid"
            exit 0
            """, at: "\(directory)/leaves-child.sh")
        let started = ContinuousClock.now
        _ = try await ScriptFenceDriver(settings: ScriptFenceSettings(executable: script)).fence(
            FenceRequest(node: "n", term: 1, timeout: FencingComponents.hangGuard))
        #expect(ContinuousClock.now - started < FencingComponents.hangGuard, "did not wait for the leftover child")
        let childPID = Int32(try String(contentsOfFile: "\(directory)/child.pid", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines))!
        #expect(await FencingComponents.eventually(10) { !FencingComponents.isAlive(childPID) })
    }

    @Test func onlyTheTailOfAHugeOutputIsKept() async throws {
        let outcome = try await ChildProcess.run(
            executable: "/bin/sh",
            arguments: ["-c", "i=0; while [ $i -lt 20000 ]; do echo \"line $i of noise\" >&2; i=$((i+1)); done; echo 'the last word' >&2; exit 1"],
            timeout: FencingComponents.hangGuard, captureLimit: 4096)
        #expect(outcome.status == .exited(1))
        #expect(outcome.standardError.utf8.count <= 4096)
        #expect(outcome.standardError.hasSuffix("the last word\n"))
    }
}

extension FencingScriptTests {
    @Test func cancellingTheCallerKillsTheChildAtOnce() async throws {
        let directory = try FencingComponents.makeDirectory()
        defer { FencingComponents.removeDirectory(directory) }
        let pidFile = "\(directory)/pid"
        let status = await withTaskGroup(of: ChildProcess.Status?.self) { group in
            group.addTask {
                try? await ChildProcess.run(
                    executable: "/bin/sh", arguments: ["-c", "echo $$ > '\(pidFile)'; exec sleep 600"],
                    timeout: .seconds(600)
                ).status
            }
            // Cancel once the child is really running.
            _ = await FencingComponents.eventually(20) { FileManager.default.fileExists(atPath: pidFile) }
            group.cancelAll()
            return await group.next() ?? nil
        }
        #expect(status == .cancelled)
        let pid = Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))!
        #expect(!FencingComponents.isAlive(pid))
    }
}
