import Foundation
import Testing

/// `vigil simulate --config FILE`: the simulator runs the protocol settings an agent's
/// config file gives, so an operator can try a file's `protocol:` section on a
/// simulated cluster before rolling it out.
@Suite("vigil simulate --config")
struct SimulateConfigTests {
    @Test func theFilesProtocolSectionChangesWhatTheSimulatedNodesDo() async throws {
        let runs = try AgentProcesses()
        defer { runs.stopAll() }
        let file = runs.directory.appendingPathComponent("three-observers.yaml")
        // Three observers instead of the preset's five: each node answers 3 probes per
        // period instead of 5, so it sends fewer messages.
        try "preset: lan\nprotocol:\n  probe: {observers: 3}\n".write(to: file, atomically: true, encoding: .utf8)
        let common = ["simulate", "--nodes", "12", "--duration", "20s", "--seed", "3", "--format", "json"]

        let preset = try await runs.vigil(common)
        try #require(preset.status == 0, "vigil simulate exited with \(preset.status)")
        let edited = try await runs.vigil(common + ["--config", file.path])
        try #require(edited.status == 0, "vigil simulate --config exited with \(edited.status)")

        let presetReport = try Self.report(preset.output)
        let editedReport = try Self.report(edited.output)
        #expect(presetReport.preset == "lan")
        #expect(editedReport.preset == "lan with \(file.path)")
        // 5 observers × 2 probes/s: a ping and an ack each, about 20 messages per node
        // per second; with 3 observers about 12.
        #expect(editedReport.messagesPerNode < presetReport.messagesPerNode * 0.75)
        #expect(editedReport.messagesPerNode > presetReport.messagesPerNode * 0.45)
    }

    @Test func aTypoInTheFileIsAnErrorThatNamesTheKey() async throws {
        let runs = try AgentProcesses()
        defer { runs.stopAll() }
        let file = runs.directory.appendingPathComponent("typo.yaml")
        try "protocol:\n  probe: {perod: 1s}\n".write(to: file, atomically: true, encoding: .utf8)
        let run = try await runs.vigil(
            ["simulate", "--nodes", "3", "--duration", "1s", "--config", file.path], withErrors: true)
        #expect(run.status == 2)
        #expect(run.output.contains("protocol.probe.perod"), "got: \(run.output)")

        let missing = try await runs.vigil(
            ["simulate", "--nodes", "3", "--duration", "1s", "--config", "/nonexistent/vigil.yaml"], withErrors: true)
        #expect(missing.status == 2)
        #expect(missing.output.contains("/nonexistent/vigil.yaml"), "got: \(missing.output)")
    }

    private struct Report {
        var preset: String
        var messagesPerNode: Double
    }

    private static func report(_ text: String) throws -> Report {
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        let traffic = object?["traffic"] as? [String: Any]
        let messages = traffic?["messages_sent_per_node_per_s"] as? [String: Any]
        let preset = try #require(object?["preset"] as? String, "no preset in the report: \(text.prefix(300))")
        let mean = try #require(messages?["mean"] as? Double, "no messages_sent_per_node_per_s.mean: \(text.prefix(300))")
        return Report(preset: preset, messagesPerNode: mean)
    }
}
