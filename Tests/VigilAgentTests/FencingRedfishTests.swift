import Foundation
import Testing

@testable import VigilAgent

/// The native Redfish driver against a real sushy-tools emulator (TLS, basic auth,
/// several systems). Each test starts its own emulator on a free port and kills it
/// when done. The emulator changes PowerState 1–11 s after a reset (at random), so
/// the driver must poll; the timeouts below are hang guards.
@Suite("Fencing: native Redfish against sushy-emulator")
struct FencingRedfishTests {
    static let timeout: Duration = FencingComponents.hangGuard

    // Skipped, not passed, when the emulator cannot be had (see FencingComponents).
    @Test(.enabled(if: FencingComponents.haveSushy, "\(FencingComponents.missingSushy)"))
    func forceOffPowersOffOnlyTheConfiguredSystemAndVerifiesOff() async throws {
        try await SushyEmulator.with(systems: [("compute-01", "On"), ("compute-02", "On")]) { (sushy: SushyEmulator) async throws in
            let target = sushy.systems[0]
            let driver = RedfishFenceDriver(settings: sushy.redfishSettings(target))
            #expect(try await driver.powerState(of: "compute-01", timeout: Self.timeout) == .on)

            let confirmation = try await driver.fence(
                FenceRequest(node: "compute-01", term: 7, timeout: Self.timeout))

            #expect(confirmation.method == "redfish")
            #expect(confirmation.detail.contains("PowerState Off"), "\(confirmation.detail)")
            #expect(try await sushy.powerState(target) == "Off")
            #expect(try await sushy.powerState(sushy.systems[1]) == "On", "the other system must stay on")
            #expect(try await driver.powerState(of: "compute-01", timeout: Self.timeout) == .off)
        }
    }

    @Test(.enabled(if: FencingComponents.haveSushy, "\(FencingComponents.missingSushy)"))
    func aSystemAlreadyOffIsFencedWithoutFailing() async throws {
        try await SushyEmulator.with(systems: [("compute-01", "Off")]) { (sushy: SushyEmulator) async throws in
            let driver = RedfishFenceDriver(settings: sushy.redfishSettings(sushy.systems[0]))
            let confirmation = try await driver.fence(FenceRequest(node: "compute-01", term: 1, timeout: Self.timeout))
            #expect(confirmation.detail.contains("already Off"), "\(confirmation.detail)")
            #expect(try await sushy.powerState(sushy.systems[0]) == "Off")
        }
    }

    @Test(.enabled(if: FencingComponents.haveSushy, "\(FencingComponents.missingSushy)"))
    func theEmulatorCertificateAsCAFileIsTrustedAndAnUnknownOneIsRefused() async throws {
        try await SushyEmulator.with(systems: [("compute-01", "On")]) { (sushy: SushyEmulator) async throws in
            // Verification on, trusting the emulator's own certificate: works.
            var trusting = sushy.redfishSettings(sushy.systems[0])
            trusting.insecure = false
            trusting.caFile = sushy.certificateFile
            #expect(try await RedfishFenceDriver(settings: trusting).powerState(of: "compute-01", timeout: Self.timeout) == .on)

            // Verification on against the system store: the self-signed certificate fails.
            var verifying = sushy.redfishSettings(sushy.systems[0])
            verifying.insecure = false
            let error = await #expect(throws: FenceError.self) {
                try await RedfishFenceDriver(settings: verifying).fence(
                    FenceRequest(node: "compute-01", term: 1, timeout: Self.timeout))
            }
            #expect(error?.isUnreachable == true, "\(String(describing: error))")
            #expect(error?.message.contains("TLS") == true, "\(String(describing: error))")
            #expect(error?.message.contains("ca_file") == true, "says what to do: \(String(describing: error))")
            #expect(try await sushy.powerState(sushy.systems[0]) == "On", "nothing was sent")
        }
    }

    @Test(.enabled(if: FencingComponents.haveSushy, "\(FencingComponents.missingSushy)"))
    func aWrongPasswordIsRefusedWithAClearMessageThatDoesNotContainIt() async throws {
        try await SushyEmulator.with(systems: [("compute-01", "On")]) { (sushy: SushyEmulator) async throws in
            let wrong = "Wr0ng-Secret-4711"
            let wrongFile = "\(sushy.directory)/wrong-password"
            try FencingComponents.write(wrong + "\n", to: wrongFile)
            let driver = RedfishFenceDriver(settings: sushy.redfishSettings(sushy.systems[0], passwordFile: wrongFile))

            let error = await #expect(throws: FenceError.self) {
                try await driver.fence(FenceRequest(node: "compute-01", term: 3, timeout: Self.timeout))
            }
            let message = error?.message ?? ""
            #expect(error?.isRefused == true, "\(message)")
            #expect(message.contains("credentials rejected (401)"), "\(message)")
            #expect(message.contains("Incorrect username or password"), "the BMC's own message: \(message)")
            #expect(message.contains(wrongFile), "names the file to fix: \(message)")
            #expect(!message.contains(wrong) && !message.contains(SushyEmulator.password), "\(message)")
            #expect(try await sushy.powerState(sushy.systems[0]) == "On")
        }
    }

    @Test(.enabled(if: FencingComponents.haveSushy, "\(FencingComponents.missingSushy)"))
    func aRefusedForceOffIsAnErrorWithTheBMCsMessage() async throws {
        try await SushyEmulator.with(systems: [("compute-01", "On")], disablePowerOff: true) { (sushy: SushyEmulator) async throws in
            let driver = RedfishFenceDriver(settings: sushy.redfishSettings(sushy.systems[0]))
            let error = await #expect(throws: FenceError.self) {
                try await driver.fence(FenceRequest(node: "compute-01", term: 3, timeout: Self.timeout))
            }
            let message = error?.message ?? ""
            #expect(error?.isRefused == true, "\(message)")
            #expect(message.contains("ForceOff answered 400"), "\(message)")
            #expect(message.contains("SUSHY_EMULATOR_DISABLE_POWER_OFF"), "the BMC's own message: \(message)")
            #expect(try await sushy.powerState(sushy.systems[0]) == "On")
        }
    }

    @Test func anUnreachableBMCIsReportedAsUnreachable() async throws {
        let directory = try FencingComponents.makeDirectory()
        defer { FencingComponents.removeDirectory(directory) }
        try FencingComponents.write("pw\n", to: "\(directory)/password")
        let port = try FencingComponents.freePort(Int32(SOCK_STREAM.rawValue))  // nothing listens there
        var settings = RedfishSettings(
            baseURL: "https://127.0.0.1:\(port)", systemPath: "/redfish/v1/Systems/1", username: "admin",
            passwordFile: "\(directory)/password")
        settings.insecure = true
        let error = await #expect(throws: FenceError.self) {
            try await RedfishFenceDriver(settings: settings).fence(
                FenceRequest(node: "compute-01", term: 1, timeout: FencingComponents.hangGuard))
        }
        #expect(error?.isUnreachable == true, "\(String(describing: error))")
        #expect(error?.message.contains("cannot reach the BMC") == true, "\(String(describing: error))")
    }

    @Test func badSettingsAreMisconfiguredBeforeAnythingIsSent() async throws {
        let missingFile = RedfishSettings(
            baseURL: "https://127.0.0.1:1", systemPath: "/redfish/v1/Systems/1", username: "admin",
            passwordFile: "/nonexistent/vigil-password")
        let noFile = await #expect(throws: FenceError.self) {
            try await RedfishFenceDriver(settings: missingFile).fence(
                FenceRequest(node: "n", term: 1, timeout: .seconds(5)))
        }
        #expect(noFile?.isMisconfigured == true)
        #expect(noFile?.message.contains("/nonexistent/vigil-password") == true, "\(String(describing: noFile))")

        var badURL = missingFile
        badURL.baseURL = "10.0.1.11"
        let url = await #expect(throws: FenceError.self) {
            try await RedfishFenceDriver(settings: badURL).fence(FenceRequest(node: "n", term: 1, timeout: .seconds(5)))
        }
        #expect(url?.isMisconfigured == true)
        #expect(url?.message.contains("`url` must be like https://") == true, "\(String(describing: url))")
    }
}
