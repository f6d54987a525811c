import Foundation
import GRDB
import Logging
import Metrics
import Prometheus
import Synchronization
import Testing
import VigilCore
import VigilCrypto

@testable import VigilAgent

/// The HA journal on real SQLite files in temporary directories: what is written,
/// what a restart gets back, what a damaged file does, and `vigil history`'s output.
/// Wall time is never measured: rows are stamped by a clock the test sets.
@Suite(.timeLimit(.minutes(1)))
struct HAJournalTests {
    /// 2026-12-01T10:41:02.113Z
    static let start = Date(timeIntervalSince1970: 1_796_121_662.113)

    static let leaderKey = SigningKey(seed: [UInt8](repeating: 7, count: 32))!

    static func record(
        _ node: String, life: UInt32 = 7, term: UInt64 = 4, sequence: UInt32, phase: HAPhase, attempts: UInt16 = 0,
        detail: String, leader: String = "node-1", key: SigningKey = HAJournalTests.leaderKey
    ) -> HARecord {
        let bytes = HARecord.signedBytes(
            node: node, life: life, term: term, sequence: sequence, phase: phase, leader: leader, attempts: attempts,
            detail: detail)
        return HARecord(
            node: node, life: life, term: term, sequence: sequence, phase: phase, leader: leader, attempts: attempts,
            detail: detail, signature: key.sign(bytes))
    }

    /// node-3's life 7 fenced and recovered by node-1 in term 4; node-5 waiting.
    static let steps: [(after: Double, record: HARecord)] = [
        (0, record("node-3", sequence: 1, phase: .fencing, attempts: 1, detail: "term 4, attempt 1")),
        (4.2, record("node-3", sequence: 2, phase: .fenced, detail: "redfish: PowerState Off after ForceOff")),
        (4.25, record("node-3", sequence: 3, phase: .recovering, attempts: 1, detail: "term 4, attempt 1")),
        (4.9, record("node-3", sequence: 4, phase: .recovered, detail: "masakari: notification 5f0c accepted")),
        (
            6.0,
            record(
                "node-5", life: 2, sequence: 1, phase: .awaitingApproval,
                detail: "brake: 2 of 5 members failed or suspect; approve with `vigil fence approve`")
        ),
    ]

    /// `vigil history` of `steps`.
    static let expectedTable = """
        TIME                      NODE    LIFE  TERM  PHASE              LEADER  ATTEMPTS  SINCE  DETAIL
        2026-12-01T10:41:02.113Z  node-3  7     4     fencing            node-1  1         +0.0s  term 4, attempt 1
        2026-12-01T10:41:06.313Z  node-3  7     4     fenced             node-1  0         +4.2s  redfish: PowerState Off after ForceOff
        2026-12-01T10:41:06.363Z  node-3  7     4     recovering         node-1  1         +4.3s  term 4, attempt 1
        2026-12-01T10:41:07.013Z  node-3  7     4     recovered          node-1  0         +4.9s  masakari: notification 5f0c accepted
        2026-12-01T10:41:08.113Z  node-5  2     4     awaiting-approval  node-1  0         +0.0s  brake: 2 of 5 members failed or suspect; approve with `vigil fence approve`

        """

    // MARK: - The file

    @Test func aJournalRoundTripsEveryFieldInTheOrderRowsWereStored() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let clock = SettableWallClock(Self.start)
        let journal = try HAJournal(path: directory.path + "/journal.sqlite", clock: clock.read)
        for (after, record) in Self.steps {
            clock.set(Self.start.addingTimeInterval(after))
            try journal.append(record)
        }
        let rows = try journal.history()
        #expect(rows.map(\.record) == Self.steps.map(\.record))
        #expect(rows.map(\.storedAtMs) == Self.steps.map { 1_796_121_662_113 + Int64($0.after * 1000) })
        #expect(rows.map(\.id) == rows.map(\.id).sorted() && Set(rows.map(\.id)).count == rows.count)
        #expect(try journal.history(node: "node-5").map(\.record) == [Self.steps[4].record])
        #expect(try journal.history(node: "node-9").isEmpty)
        #expect(try journal.latestRecords() == [Self.steps[3].record, Self.steps[4].record])
        // Durable as promised: WAL, every commit fsynced (2 is FULL), private to the agent.
        #expect(try journal.pragma("journal_mode") == "wal")
        #expect(try journal.pragma("synchronous") == "2")
        let attributes = try FileManager.default.attributesOfItem(atPath: journal.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test func aTermAboveInt64MaxIsStoredAndReadBackUnchanged() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let journal = try HAJournal(path: directory.path + "/journal.sqlite")
        let record = Self.record("node-3", term: .max, sequence: .max, phase: .fencing, attempts: .max, detail: "ü ∆")
        try journal.append(record)
        #expect(try journal.latestRecords() == [record])
    }

    @Test func aCorruptJournalIsRefusedInOneLineNamingTheFileAndLeftUntouched() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/" + HAJournal.fileName
        let garbage = Array(String(repeating: "not a database, but journaled bytes all the same\n", count: 90).utf8)
        try Data(garbage).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: DataDirectoryError.self) {
            try HAJournal(directory: DataDirectory(path: directory.path))
        }
        #expect(error.path == path)
        #expect(error.description.hasPrefix("HA journal \(path): is not a readable SQLite database"))
        #expect(error.description.contains("Move it aside"))
        #expect(!error.description.contains("\n"))
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: path))) == garbage, "never overwritten")
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test func aJournalDamagedInsideIsRefusedRatherThanReadInPart() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/" + HAJournal.fileName
        do {
            let journal = try HAJournal(path: path)
            for sequence in 1...300 {
                try journal.append(
                    Self.record(
                        "node-\(sequence % 7)", sequence: UInt32(sequence), phase: .fencing,
                        detail: String(repeating: "x", count: 150)))
            }
        }  // closed: the WAL is checkpointed into the file
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        try #require(bytes.count > 16 * 4096, "\(bytes.count) bytes")
        for index in (4 * 4096)..<(12 * 4096) { bytes[index] = 0xA5 }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: DataDirectoryError.self) { try HAJournal(path: path) }
        #expect(error.description.hasPrefix("HA journal \(path): is not a readable SQLite database"), "\(error)")
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: path))) == bytes, "left as it was")
    }

    @Test func aJournalPathThatIsADirectorySaysItCannotBeOpened() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/" + HAJournal.fileName
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        let error = try #require(throws: DataDirectoryError.self) { try HAJournal(path: path) }
        #expect(error.description.hasPrefix("HA journal \(path): cannot be opened ("), "\(error)")
    }

    // MARK: - The runtime

    @Test func everyRecordTheEngineStoresIsOnDiskWhenTheRuntimeReturns() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let harness = try JournalHarness(directory: directory.path)
        await harness.runtime.start(joining: [])
        for (after, record) in Self.steps {
            harness.clock.set(Self.start.addingTimeInterval(after))
            await harness.deliver(record)
            // A second connection sees it at once: committed, not waiting in a buffer.
            let other = try HAJournal(path: harness.journal.path)
            #expect(try other.history().last?.record == record)
        }
        #expect(try harness.journal.history().count == Self.steps.count)
        // Old news is not journaled twice.
        await harness.deliver(Self.steps[2].record)
        #expect(try harness.journal.history().count == Self.steps.count)
    }

    @Test func aRestartRestoresTheNewestRecordOfEachNodeAndLosesNoRow() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        do {
            let first = try JournalHarness(directory: directory.path)
            await first.runtime.start(joining: [])
            await first.deliverSteps()
        }  // the agent stops: runtime, engine and journal gone
        let data = try DataDirectory(path: directory.path)
        let journal = try HAJournal(directory: data)
        #expect(try journal.history().map(\.record) == Self.steps.map(\.record), "every row kept")
        var instance = JournalHarness.instance()
        instance.restore(haRecords: try journal.latestRecords())
        #expect(instance.haStatus == [Self.steps[3].record, Self.steps[4].record])
        let runtime = AgentRuntime(
            instance: instance, sink: NullSink(), presetName: "local", logger: .quiet, journal: journal)
        await runtime.start(joining: [])
        let rows = try await runtime.history(node: nil)
        #expect(rows.map(\.phase) == ["fencing", "fenced", "recovering", "recovered", "awaiting-approval"])
    }

    @Test func aWriteThatFailsIsLoggedAndCountedAndTheRuntimeKeepsGoing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let log = CapturedLog()
        let registry = PrometheusCollectorRegistry()
        let harness = try JournalHarness(
            directory: directory.path, logger: log.logger,
            metrics: AgentMetrics(factory: DescribedPrometheusFactory(registry: registry)))
        await harness.runtime.start(joining: [])
        await harness.deliver(Self.steps[0].record)
        // Another connection makes every insert fail, as a full disk would.
        let saboteur = try DatabaseQueue(path: harness.journal.path)
        try await saboteur.write { db in
            try db.execute(
                sql: "CREATE TRIGGER refuse BEFORE INSERT ON ha_record BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END")
        }
        await harness.deliver(Self.steps[1].record)
        await harness.deliver(Self.steps[2].record)
        #expect(await harness.runtime.info().counters["journal_write_failed"] == 2)
        #expect(log.text.contains("error journal.write-failed"), "\(log.text)")
        #expect(log.text.contains("database or disk is full"))
        await harness.runtime.record(transport: TransportStats())
        #expect(Exposition(registry.emitToString())["vigil_journal_write_failures_total"] == 2)
        // Still running: it answers, and once the disk has room the next record lands.
        #expect(await harness.runtime.members().count == 2)
        try await saboteur.write { db in try db.execute(sql: "DROP TRIGGER refuse") }
        await harness.deliver(Self.steps[3].record)
        #expect(try harness.journal.history().map(\.record) == [Self.steps[0].record, Self.steps[3].record])
        #expect(await harness.runtime.info().counters["journal_write_failed"] == 2)
    }

    // MARK: - vigil history

    @Test func historyRouteAndTableShowEveryStepTimedFromTheFirstOfItsLife() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let harness = try JournalHarness(directory: directory.path)
        await harness.runtime.start(joining: [])
        await harness.deliverSteps()
        try await withControlServer(harness.runtime) { client, _ async throws in
            let rows = try await client.getHistory()
            #expect(ControlText.history(rows) == Self.expectedTable)
            let one = try await client.getHistory(node: "node-5")
            #expect(one.map(\.node) == ["node-5"])
            #expect(try await client.getHistory(node: "node 9/x").isEmpty)
            #expect(
                try ControlJSON.line(HistoryList(history: [rows[1]]))
                    == #"{"history":[{"attempts":0,"detail":"redfish: PowerState Off after ForceOff","leader":"node-1","# + #""life":7,"node":"node-3","phase":"fenced","sequence":2,"since_first_ms":4200,"term":4,"# + #""time":"2026-12-01T10:41:06.313Z"}]}"# + "\n")
        }
    }

    @Test func anEmptyHistorySaysSoInOneLine() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let harness = try JournalHarness(directory: directory.path)
        await harness.runtime.start(joining: [])
        try await withControlServer(harness.runtime) { client, _ async throws in
            let rows = try await client.getHistory()
            #expect(rows.isEmpty)
            #expect(ControlText.history(rows) == "no HA actions recorded\n")
            #expect(try ControlJSON.line(HistoryList(history: rows)) == #"{"history":[]}"# + "\n")
        }
    }

    @Test func theHistoryRouteTakesAnOptionalNode() {
        #expect(ControlRoute.match(method: .GET, uri: "/v1/history") == .route(.history(node: nil)))
        #expect(ControlRoute.match(method: .GET, uri: "/v1/history?node=node-3") == .route(.history(node: "node-3")))
        #expect(ControlRoute.match(method: .GET, uri: "/v1/history?node=rack%201") == .route(.history(node: "rack 1")))
        #expect(ControlRoute.match(method: .GET, uri: "/v1/history?node=") == .route(.history(node: nil)))
        #expect(ControlRoute.match(method: .POST, uri: "/v1/history") == .methodNotAllowed(allowed: .GET))
    }

    @Test func sinceIsWrittenInTenthsThenMinutesThenHours() {
        #expect(ControlText.since(milliseconds: 0) == "+0.0s")
        #expect(ControlText.since(milliseconds: 4249) == "+4.2s")
        #expect(ControlText.since(milliseconds: 59_960) == "+1m00.0s")
        #expect(ControlText.since(milliseconds: 125_300) == "+2m05.3s")
        #expect(ControlText.since(milliseconds: 3_725_000) == "+1h02m05s")
    }
}

/// A wall clock the test sets.
final class SettableWallClock: Sendable {
    private let now: Mutex<Date>

    init(_ start: Date) {
        self.now = Mutex(start)
    }

    func set(_ date: Date) {
        self.now.withLock { $0 = date }
    }

    var read: @Sendable () -> Date {
        { self.now.withLock { $0 } }
    }
}

/// One runtime (node-2, no peers) journaling to `<directory>/journal.sqlite`; the HA
/// records arrive as gossip from their leader, node-1.
struct JournalHarness {
    let clock = SettableWallClock(HAJournalTests.start)
    let journal: HAJournal
    let runtime: AgentRuntime

    static func instance() -> Instance {
        Instance(
            name: "node-2", address: Address(host: "127.0.0.1", port: 2), identity: SigningKey(seed: [UInt8](repeating: 2, count: 32))!,
            incarnation: Incarnation.first(life: 1), configuration: .local, rng: DeterministicRNG(seed: 1))
    }

    init(directory: String, logger: Logger = .quiet, metrics: AgentMetrics? = nil) throws {
        self.journal = try HAJournal(directory: DataDirectory(path: directory), clock: self.clock.read)
        var instance = Self.instance()
        instance.restore(haRecords: try self.journal.latestRecords())
        self.runtime = AgentRuntime(
            instance: instance, sink: NullSink(), presetName: "local", logger: logger, metrics: metrics,
            journal: self.journal)
    }

    /// Every one of `HAJournalTests.steps`, each at its time.
    func deliverSteps() async {
        for (after, record) in HAJournalTests.steps {
            self.clock.set(HAJournalTests.start.addingTimeInterval(after))
            await self.deliver(record)
        }
    }

    func deliver(_ record: HARecord) async {
        let leader = Member(
            name: "node-1", address: Address(host: "127.0.0.1", port: 1), incarnation: Incarnation.first(life: 1),
            status: .alive, identityKey: HAJournalTests.leaderKey.publicKey)
        let packet = Packet(sender: "node-1", message: .gossip, gossip: [.alive(leader), .ha(record)])
        await self.runtime.receive(packet, from: leader.address)
    }
}
