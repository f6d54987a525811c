import Foundation
import Testing
import VigilCore

@testable import VigilAgent

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The journal through the shipped executable: a real `vigil agent` opens the journal
/// in its data directory, serves it to `vigil history`, keeps it across a restart, and
/// refuses to start on a damaged one. The rows are written beforehand with `HAJournal`
/// (an agent alone has nothing to fence), with the clock of `HAJournalTests`.
@Suite("vigil history on a real agent", .serialized)
struct HAJournalProcessTests {
    @Test func aRestartedAgentStillShowsTheHistoryItHad() async throws {
        let agents = try AgentProcesses()
        defer { agents.stopAll() }
        let key = try await agents.vigil(["keygen"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            let clock = SettableWallClock(HAJournalTests.start)
            let journal = try HAJournal(directory: DataDirectory(path: agents.dataDirectory("j-1")), clock: clock.read)
            for (after, record) in HAJournalTests.steps {
                clock.set(HAJournalTests.start.addingTimeInterval(after))
                try journal.append(record)
            }
        }
        let socket = agents.controlSocket("j-1")
        for run in 1...2 {
            // The second time with the port it had; answering `vigil info` means it is up.
            try agents.start("j-1", key: key, port: agents.port(of: "j-1"))
            let up = await eventually { (try? await agents.info("j-1")) != nil }
            try #require(up, "run \(run)\n\(agents.logTail("j-1"))")
            _ = try await agents.address(of: "j-1")
            let table = try await agents.vigil(["history", "--control", socket])
            #expect(table.status == 0, "run \(run)\n\(agents.logTail("j-1"))")
            #expect(table.output == HAJournalTests.expectedTable, "run \(run)")
            let json = try await agents.vigil(["history", "--control", socket, "--format", "json", "--node", "node-3"])
            #expect(json.status == 0)
            let list = try JSONDecoder().decode(HistoryList.self, from: Data(json.output.utf8))
            #expect(list.history.map(\.phase) == ["fencing", "fenced", "recovering", "recovered"], "run \(run)")
            #expect(list.history.map(\.sinceFirstMs) == [0, 4200, 4250, 4900])
            #expect(try await agents.signal("j-1", SIGTERM) == 0)
        }
        let rows = try HAJournal(directory: DataDirectory(path: agents.dataDirectory("j-1"))).history()
        #expect(rows.map(\.record) == HAJournalTests.steps.map(\.record), "nothing lost or added")
    }

    @Test func anAgentWithAnEmptyJournalSaysNoHAActionsRecorded() async throws {
        let agents = try AgentProcesses()
        defer { agents.stopAll() }
        let key = try await agents.vigil(["keygen"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        try agents.start("j-2", key: key)
        _ = try await agents.address(of: "j-2")
        let answer = try await agents.vigil(["history", "--control", agents.controlSocket("j-2")])
        #expect(answer.status == 0)
        #expect(answer.output == "no HA actions recorded\n")
        #expect(FileManager.default.fileExists(atPath: agents.dataDirectory("j-2") + "/" + HAJournal.fileName))
    }

    @Test func anAgentWithADamagedJournalRefusesToStartInOneLineAndLeavesItAlone() async throws {
        let agents = try AgentProcesses()
        defer { agents.stopAll() }
        let key = try await agents.vigil(["keygen"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        _ = try DataDirectory(path: agents.dataDirectory("j-3"))
        let path = agents.dataDirectory("j-3") + "/" + HAJournal.fileName
        let garbage = Data(String(repeating: "journaled, then scribbled over\n", count: 200).utf8)
        try garbage.write(to: URL(fileURLWithPath: path))
        try agents.start("j-3", key: key)
        let status = await agents.exitStatus(of: "j-3")
        #expect(status == 1, "\(agents.logTail("j-3"))")
        let log = agents.logTail("j-3")
        #expect(log.contains("Error: HA journal \(path): is not a readable SQLite database"), "\(log)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == garbage)
    }
}
