import Foundation
import Testing

@testable import VigilAgent

/// The fence-agent driver: its stdin protocol and exit codes (against a recording
/// stand-in agent), then Debian's real fence_redfish against sushy-emulator and
/// fence_ipmilan against pyghmi's fakebmc.
@Suite("Fencing: ClusterLabs fence agents")
struct FencingFenceAgentTests {
    static let timeout: Duration = FencingComponents.hangGuard

    /// A stand-in agent that records its argv and stdin per action, and answers
    /// `status` with the exit code in `status-code` (0 ON, 2 OFF).
    static func recordingAgent(in directory: String, statusCode: Int) throws -> String {
        try FencingComponents.write("\(statusCode)\n", to: "\(directory)/status-code")
        return try FencingComponents.script(
            """
            input=$(cat)
            action=$(printf '%s\\n' "$input" | sed -n 's/^action=//p')
            printf '%s\\n' "$input" > "\(directory)/stdin-$action"
            printf '%s' "$*" > "\(directory)/argv-$action"
            echo "$(env | sort)" > "\(directory)/env-$action"
            if [ "$action" = status ]; then exit $(cat "\(directory)/status-code"); fi
            echo "Success: Powered OFF"
            exit 0
            """, at: "\(directory)/fence_recording")
    }

    @Test func optionsAndPasswordGoOnStdinNeverOnArgvAndStatusOffConfirms() async throws {
        let directory = try FencingComponents.makeDirectory()
        defer { FencingComponents.removeDirectory(directory) }
        let agent = try Self.recordingAgent(in: directory, statusCode: 2)
        try FencingComponents.write("Agent-Pw-31337\n", to: "\(directory)/password")
        let driver = FenceAgentDriver(
            settings: FenceAgentSettings(
                agent: agent, options: ["ip": "10.0.1.11", "ssl_insecure": "1", "systems_uri": "/redfish/v1/Systems/1"],
                passwordFile: "\(directory)/password"))

        let confirmation = try await driver.fence(FenceRequest(node: "compute-01", term: 4, timeout: FencingComponents.hangGuard))

        #expect(confirmation.method == "fence_recording")
        #expect(confirmation.detail.contains("status reported OFF"))
        let stdin = try String(contentsOfFile: "\(directory)/stdin-off", encoding: .utf8)
        #expect(stdin.split(separator: "\n").first == "action=off")
        for line in ["ip=10.0.1.11", "ssl_insecure=1", "systems_uri=/redfish/v1/Systems/1", "password=Agent-Pw-31337"] {
            #expect(stdin.contains(line + "\n"), "\(line) on stdin")
        }
        #expect(try String(contentsOfFile: "\(directory)/stdin-status", encoding: .utf8).hasPrefix("action=status\n"))
        #expect(try String(contentsOfFile: "\(directory)/argv-off", encoding: .utf8).isEmpty, "nothing on argv")
        let environment = try String(contentsOfFile: "\(directory)/env-off", encoding: .utf8)
        #expect(!environment.contains("Agent-Pw-31337"), "the password is not in the environment either")
        #expect(!environment.contains("HOME="), "the agent's environment is not inherited")
    }

    @Test func anOffThatLeavesStatusOnIsNotConfirmed() async throws {
        let directory = try FencingComponents.makeDirectory()
        defer { FencingComponents.removeDirectory(directory) }
        let driver = FenceAgentDriver(
            settings: FenceAgentSettings(agent: try Self.recordingAgent(in: directory, statusCode: 0)))
        let error = await #expect(throws: FenceError.self) {
            try await driver.fence(FenceRequest(node: "compute-01", term: 4, timeout: FencingComponents.hangGuard))
        }
        #expect(error?.isNotConfirmed == true, "\(String(describing: error))")
        #expect(error?.message.contains("status still reports ON") == true)
    }

    @Test func passwordAndActionAreNotAcceptedAsOptions() async throws {
        for key in ["password", "action"] {
            let driver = FenceAgentDriver(settings: FenceAgentSettings(agent: "/bin/true", options: [key: "x"]))
            let error = await #expect(throws: FenceError.self) {
                try await driver.fence(FenceRequest(node: "n", term: 1, timeout: .seconds(5)))
            }
            #expect(error?.isMisconfigured == true, "\(key)")
        }
        let missing = FenceAgentDriver(settings: FenceAgentSettings(agent: "fence_nonexistent_vigil"))
        let error = await #expect(throws: FenceError.self) {
            try await missing.fence(FenceRequest(node: "n", term: 1, timeout: .seconds(5)))
        }
        #expect(error?.isMisconfigured == true)
        #expect(error?.message.contains("install Debian's fence-agents") == true, "\(String(describing: error))")
    }

    // MARK: - Real fence_redfish against sushy-emulator

    @Test(
        .enabled(if: FencingComponents.haveSushy, "\(FencingComponents.missingSushy)"),
        .enabled(if: FencingComponents.fenceRedfish != nil, "\(FencingComponents.missingFenceRedfish)"))
    func fenceRedfishPowersOffTheGivenSystemAndStatusSaysOff() async throws {
        try await SushyEmulator.with(systems: [("compute-01", "On"), ("compute-02", "On")]) { (sushy: SushyEmulator) async throws in
            let target = sushy.systems[1]
            let driver = FenceAgentDriver(settings: sushy.fenceRedfishSettings(target))
            #expect(try await driver.powerState(of: "compute-02", timeout: Self.timeout) == .on)

            let confirmation = try await driver.fence(FenceRequest(node: "compute-02", term: 9, timeout: Self.timeout))

            #expect(confirmation.method == "fence_redfish")
            #expect(confirmation.detail.contains("status reported OFF"))
            #expect(try await sushy.powerState(target) == "Off")
            #expect(try await sushy.powerState(sushy.systems[0]) == "On", "systems_uri picked the right system")
            #expect(try await driver.powerState(of: "compute-02", timeout: Self.timeout) == .off)
        }
    }

    @Test(
        .enabled(if: FencingComponents.haveSushy, "\(FencingComponents.missingSushy)"),
        .enabled(if: FencingComponents.fenceRedfish != nil, "\(FencingComponents.missingFenceRedfish)"))
    func fenceRedfishWithAWrongPasswordIsRefusedWithoutThePassword() async throws {
        try await SushyEmulator.with(systems: [("compute-01", "On")]) { (sushy: SushyEmulator) async throws in
            let wrong = "Wr0ng-Agent-Secret-2718"
            let wrongFile = "\(sushy.directory)/wrong-password"
            try FencingComponents.write(wrong + "\n", to: wrongFile)
            let driver = FenceAgentDriver(settings: sushy.fenceRedfishSettings(sushy.systems[0], passwordFile: wrongFile))

            let error = await #expect(throws: FenceError.self) {
                try await driver.fence(FenceRequest(node: "compute-01", term: 2, timeout: Self.timeout))
            }
            let message = error?.message ?? ""
            #expect(error?.isRefused == true, "\(message)")
            #expect(message.contains("fence_redfish off failed (exit 1)"), "\(message)")
            #expect(message.contains("ERROR"), "carries the agent's error line: \(message)")
            #expect(message.contains("credentials"), "says what to check: \(message)")
            #expect(!message.contains(wrong) && !message.contains(SushyEmulator.password), "\(message)")
            #expect(try await sushy.powerState(sushy.systems[0]) == "On")
        }
    }

    // MARK: - Real fence_ipmilan against fakebmc

    @Test(
        .enabled(if: FencingComponents.haveFakeBMC, "\(FencingComponents.missingFakeBMC)"),
        .enabled(if: FencingComponents.fenceIPMILan != nil, "\(FencingComponents.missingFenceIPMILan)"))
    func fenceIPMILanWithLanplusCipher3PowersOffAndStatusSaysOff() async throws {
        try await FakeBMC.with { (bmc: FakeBMC) async throws in
            try await bmc.ipmitool("chassis", "power", "on")
            #expect(try await bmc.ipmitool("chassis", "power", "status").contains("Chassis Power is on"))
            let driver = FenceAgentDriver(
                settings: FenceAgentSettings(
                    agent: "fence_ipmilan",
                    options: [
                        "ip": "127.0.0.1", "ipport": String(bmc.port), "username": FakeBMC.username, "lanplus": "1",
                        "cipher": "3",
                    ],
                    passwordFile: bmc.passwordFile))
            #expect(try await driver.powerState(of: "compute-01", timeout: Self.timeout) == .on)

            let confirmation = try await driver.fence(FenceRequest(node: "compute-01", term: 5, timeout: Self.timeout))

            #expect(confirmation.method == "fence_ipmilan")
            #expect(try await bmc.ipmitool("chassis", "power", "status").contains("Chassis Power is off"))
        }
    }
}

extension FencingFenceAgentTests {
    @Test func aHangingAgentIsKilledAtTheDeadlineAndReportedAsTimedOut() async throws {
        let directory = try FencingComponents.makeDirectory()
        defer { FencingComponents.removeDirectory(directory) }
        // Like fence_redfish against a BMC that accepts the connection and never answers.
        let agent = try FencingComponents.script(
            "cat > /dev/null; echo $$ > '\(directory)/pid'; exec sleep 600", at: "\(directory)/fence_hangs")
        try FencingComponents.write("Hang-Pw-99\n", to: "\(directory)/password")
        let driver = FenceAgentDriver(
            settings: FenceAgentSettings(agent: agent, options: ["ip": "10.0.1.11"], passwordFile: "\(directory)/password"))

        let error = await #expect(throws: FenceError.self) {
            try await driver.fence(FenceRequest(node: "compute-01", term: 1, timeout: .seconds(1)))
        }

        #expect(error?.isTimeout == true, "\(String(describing: error))")
        #expect(error?.message.contains("fence_hangs off timed out after 1s and was killed") == true, "\(String(describing: error))")
        let pid = Int32(try String(contentsOfFile: "\(directory)/pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))!
        #expect(!FencingComponents.isAlive(pid))
    }
}
