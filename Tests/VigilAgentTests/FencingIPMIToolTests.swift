import Foundation
import Testing

@testable import VigilAgent

/// The ipmitool driver: how it calls ipmitool (against a recording stand-in), then the
/// real ipmitool against pyghmi's fakebmc over lanplus with cipher suite 3.
@Suite("Fencing: ipmitool")
struct FencingIPMIToolTests {
    static let timeout: Duration = FencingComponents.hangGuard

    @Test func thePasswordGoesInIPMIPasswordWithDashENeverOnArgv() async throws {
        let directory = try FencingComponents.makeDirectory()
        defer { FencingComponents.removeDirectory(directory) }
        try FencingComponents.write("Ipmi-Pw-1618\n", to: "\(directory)/password")
        let fake = try FencingComponents.script(
            """
            printf '%s\\n' "$*" >> "\(directory)/argv"
            printf '%s\\n' "$IPMI_PASSWORD" >> "\(directory)/password-seen"
            case "$*" in *"power off") echo "Chassis Power Control: Down/Off";; *) echo "Chassis Power is off";; esac
            """, at: "\(directory)/ipmitool")
        var settings = IPMIToolSettings(host: "10.0.1.21", username: "fence", passwordFile: "\(directory)/password")
        settings.executable = fake
        settings.port = 6230

        let confirmation = try await IPMIToolFenceDriver(settings: settings).fence(
            FenceRequest(node: "compute-01", term: 1, timeout: FencingComponents.hangGuard))

        #expect(confirmation.detail.contains("Chassis Power is off"))
        let argv = try String(contentsOfFile: "\(directory)/argv", encoding: .utf8).split(separator: "\n")
        #expect(argv.first == "-I lanplus -H 10.0.1.21 -p 6230 -U fence -E -C 3 chassis power off")
        #expect(argv.dropFirst().first == "-I lanplus -H 10.0.1.21 -p 6230 -U fence -E -C 3 chassis power status")
        #expect(!argv.joined().contains("Ipmi-Pw-1618"))
        #expect(try String(contentsOfFile: "\(directory)/password-seen", encoding: .utf8).hasPrefix("Ipmi-Pw-1618\n"))
    }

    @Test(.enabled(if: FencingComponents.haveFakeBMC, "\(FencingComponents.missingFakeBMC)"))
    func ipmitoolPowersOffFakeBMCAndReadsItsStatus() async throws {
        try await FakeBMC.with { (bmc: FakeBMC) async throws in
            try await bmc.ipmitool("chassis", "power", "on")
            let driver = IPMIToolFenceDriver(settings: bmc.ipmitoolSettings())
            #expect(try await driver.powerState(of: "compute-01", timeout: Self.timeout) == .on)

            let confirmation = try await driver.fence(FenceRequest(node: "compute-01", term: 2, timeout: Self.timeout))

            #expect(confirmation.method == "ipmitool")
            #expect(confirmation.detail.contains("Chassis Power is off"))
            #expect(try await bmc.ipmitool("chassis", "power", "status").contains("Chassis Power is off"))
            #expect(try await driver.powerState(of: "compute-01", timeout: Self.timeout) == .off)
        }
    }

    @Test(.enabled(if: FencingComponents.haveFakeBMC, "\(FencingComponents.missingFakeBMC)"))
    func aWrongIPMIPasswordIsRefusedWithoutThePassword() async throws {
        try await FakeBMC.with { (bmc: FakeBMC) async throws in
            try await bmc.ipmitool("chassis", "power", "on")
            let wrong = "Wr0ng-Ipmi-1414"  // IPMI v2 passwords are at most 20 bytes
            try FencingComponents.write(wrong + "\n", to: "\(bmc.directory)/wrong")
            let driver = IPMIToolFenceDriver(settings: bmc.ipmitoolSettings(passwordFile: "\(bmc.directory)/wrong"))

            let error = await #expect(throws: FenceError.self) {
                try await driver.fence(FenceRequest(node: "compute-01", term: 2, timeout: Self.timeout))
            }
            let message = error?.message ?? ""
            #expect(error?.isRefused == true, "\(message)")
            #expect(message.contains("Unable to establish IPMI v2 / RMCP+ session"), "\(message)")
            #expect(message.contains("check `username`, the password file"), "\(message)")
            #expect(!message.contains(wrong))
            #expect(try await bmc.ipmitool("chassis", "power", "status").contains("Chassis Power is on"))
        }
    }
}

extension FencingIPMIToolTests {
    @Test func aPasswordLongerThanIPMIAllowsIsMisconfigured() async throws {
        let directory = try FencingComponents.makeDirectory()
        defer { FencingComponents.removeDirectory(directory) }
        try FencingComponents.write("this-is-21-bytes-long\n", to: "\(directory)/password")
        let settings = IPMIToolSettings(host: "127.0.0.1", username: "admin", passwordFile: "\(directory)/password")
        let error = await #expect(throws: FenceError.self) {
            try await IPMIToolFenceDriver(settings: settings).fence(FenceRequest(node: "n", term: 1, timeout: .seconds(5)))
        }
        #expect(error?.isMisconfigured == true, "\(String(describing: error))")
        #expect(error?.message.contains("longer than the 20 bytes") == true)
        #expect(error?.message.contains("this-is-21-bytes-long") == false)
    }
}
