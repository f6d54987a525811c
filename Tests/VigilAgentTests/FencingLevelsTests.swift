import Foundation
import Logging
import Synchronization
import Testing

@testable import VigilAgent

/// FenceLevels: ordered levels, all methods of a level must succeed, fall through on
/// failure, every error reported when all fail. The first tests use in-memory
/// drivers; the last falls through from a real Redfish BMC that refuses ForceOff.
@Suite("Fencing: levels")
struct FencingLevelsTests {
    /// A driver that answers as told and counts its calls.
    struct Scripted: FenceDriver {
        let method: String
        let error: FenceError?
        let calls: Calls

        final class Calls: Sendable {
            private let count = Mutex(0)
            func record() { self.count.withLock { $0 += 1 } }
            var value: Int { self.count.withLock { $0 } }
        }

        init(_ method: String, failing error: FenceError? = nil) {
            self.method = method
            self.error = error
            self.calls = Calls()
        }

        func fence(_ request: FenceRequest) async throws(FenceError) -> FenceConfirmation {
            self.calls.record()
            if let error { throw error }
            return FenceConfirmation(method: self.method, detail: "off (\(request.node), term \(request.term))")
        }

        func powerState(of node: String, timeout: Duration) async throws(FenceError) -> PowerState {
            self.error == nil ? .off : .unknown
        }
    }

    static let request = FenceRequest(node: "compute-03", term: 11, timeout: .seconds(10))
    static let logger = Logger(label: "test.fence")

    @Test func theFirstLevelThatWorksFencesAndLaterLevelsAreNotTried() async throws {
        let first = Scripted("redfish")
        let second = Scripted("fence_apc")
        let levels = FenceLevels(levels: [[first], [second]], logger: Self.logger)

        let confirmation = try await levels.fence(Self.request)

        #expect(confirmation.level == 1)
        #expect(confirmation.confirmations.map(\.method) == ["redfish"])
        #expect(confirmation.failures.isEmpty)
        #expect(first.calls.value == 1 && second.calls.value == 0)
    }

    @Test func aLevelNeedsEveryMethodAndAFailureFallsThroughToTheNextLevel() async throws {
        let pduA = Scripted("pdu-a")
        let pduB = Scripted("pdu-b", failing: .unreachable("pdu-b 10.0.9.2: connection refused"))
        let pduAfter = Scripted("pdu-c")
        let bmc = Scripted("ipmitool")
        let levels = FenceLevels(levels: [[pduA, pduB, pduAfter], [bmc]], logger: Self.logger)

        let confirmation = try await levels.fence(Self.request)

        #expect(confirmation.level == 2)
        #expect(confirmation.confirmations == [FenceConfirmation(method: "ipmitool", detail: "off (compute-03, term 11)")])
        #expect(confirmation.failures == [
            FenceAttemptFailure(level: 1, method: "pdu-b", error: .unreachable("pdu-b 10.0.9.2: connection refused"))
        ])
        #expect(pduAfter.calls.value == 0, "a failed level stops at its failed method")
    }

    @Test func whenEveryLevelFailsEveryErrorIsReported() async throws {
        let levels = FenceLevels(
            levels: [
                [Scripted("redfish", failing: .refused("redfish https://10.0.1.11: ForceOff answered 400"))],
                [], [Scripted("script", failing: .timedOut("script pdu.sh off timed out after 30s"))],
            ], logger: Self.logger)

        let error = await #expect(throws: FenceLevelsError.self) { try await levels.fence(Self.request) }

        #expect(error?.failures.map(\.level) == [1, 2, 3])
        #expect(error?.failures.map(\.method) == ["redfish", "-", "script"])
        let text = error?.description ?? ""
        #expect(text.contains("cannot fence compute-03 (term 11): every fence level failed"))
        #expect(text.contains("level 1 redfish: redfish https://10.0.1.11: ForceOff answered 400"))
        #expect(text.contains("level 2 -: fence level 2 has no methods"))
        #expect(text.contains("level 3 script: script pdu.sh off timed out after 30s"))
        #expect(text.contains("not recovered"), "says what it means: \(text)")
    }

    @Test func noLevelsIsAnErrorNotASuccess() async throws {
        let error = await #expect(throws: FenceLevelsError.self) {
            try await FenceLevels(levels: [], logger: Self.logger).fence(Self.request)
        }
        #expect(error?.description.contains("no fence levels are configured") == true)
    }

    @Test(.enabled(if: FencingComponents.haveSushy, "\(FencingComponents.missingSushy)"))
    func aBMCThatRefusesForceOffFallsThroughToASecondLevelThatWorks() async throws {
        try await SushyEmulator.with(systems: [("compute-03", "On")], disablePowerOff: true) { (sushy: SushyEmulator) async throws in
            let marker = "\(sushy.directory)/pdu-switched"
            let pdu = try FencingComponents.script(
                "echo \"$VIGIL_NODE $VIGIL_TERM\" > '\(marker)'; exit 0", at: "\(sushy.directory)/pdu.sh")
            let levels = FenceLevels(
                levels: [
                    [RedfishFenceDriver(settings: sushy.redfishSettings(sushy.systems[0]))],
                    [ScriptFenceDriver(settings: ScriptFenceSettings(executable: pdu))],
                ], logger: Self.logger)

            let confirmation = try await levels.fence(
                FenceRequest(node: "compute-03", term: 11, timeout: FencingComponents.hangGuard))

            #expect(confirmation.level == 2)
            #expect(confirmation.confirmations.map(\.method) == ["script"])
            #expect(confirmation.failures.count == 1)
            #expect(confirmation.failures.first?.method == "redfish")
            #expect(confirmation.failures.first?.error.isRefused == true)
            #expect(confirmation.failures.first?.error.message.contains("ForceOff answered 400") == true)
            #expect(try String(contentsOfFile: marker, encoding: .utf8) == "compute-03 11\n")
            #expect(try await sushy.powerState(sushy.systems[0]) == "On", "the BMC really refused")
        }
    }
}
