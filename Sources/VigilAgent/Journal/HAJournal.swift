import Foundation
import GRDB
import VigilCore

/// The crash-safe journal of HA actions (DESIGN.md "Leader, fencing, recovery"):
/// `<data-dir>/journal.sqlite`, one row per HA record this node ever stored — signed
/// here as leader, or gossiped or synced from one — with the wall-clock time it was
/// stored. A restarted agent restores the newest record of each node from it
/// (`Instance.restore(haRecords:)`), so it loses nothing it acknowledged; `vigil
/// history` reads it.
///
/// SQLite in WAL mode with `synchronous = FULL`: `append` returns once the row is on
/// disk (the WAL is fsynced at every commit), so a power loss right after keeps it.
/// The file is made with mode 0600, and never replaced or erased: a journal that cannot
/// be opened stops the agent with one line saying what to do.
public struct HAJournal: Sendable {
    public static let fileName = "journal.sqlite"

    /// One row: a record and when this node stored it.
    public struct Entry: Sendable, Equatable {
        /// Grows with every row: the order they were stored in.
        public var id: Int64
        public var record: HARecord
        /// This node's wall clock when it stored the record: milliseconds since 1970 UTC.
        public var storedAtMs: Int64

        public var storedAt: Date { Date(timeIntervalSince1970: Double(self.storedAtMs) / 1000) }
    }

    public let path: String
    private let database: DatabaseQueue
    private let clock: @Sendable () -> Date

    /// Opens `<data-dir>/journal.sqlite`, making it on first start.
    public init(directory: DataDirectory, clock: @escaping @Sendable () -> Date = { Date() })
        throws(DataDirectoryError)
    {
        try self.init(path: directory.file(Self.fileName), clock: clock)
    }

    /// Opens (or makes) the journal at `path`, checks it and brings its schema up to date.
    /// - Parameter clock: the wall clock rows are stamped with (tests fix it).
    /// - Throws: ``DataDirectoryError`` naming the file and what to do, if it is not a
    ///   readable SQLite database, fails its integrity check, was written by a newer
    ///   Vigil, or cannot be opened or created. The file is left as it was.
    public init(path: String, clock: @escaping @Sendable () -> Date = { Date() }) throws(DataDirectoryError) {
        self.path = path
        self.clock = clock
        do throws(FileSystem.Failure) {
            // An empty file is an empty SQLite database: made here so that it, and the
            // WAL and shared-memory files SQLite makes beside it, have mode 0600.
            if try FileSystem.status(of: path) == nil {
                _ = try FileSystem.createExclusively([], at: path, mode: 0o600)
            }
        } catch {
            throw .system(Self.subject, error)
        }
        var configuration = Configuration()
        configuration.label = "vigil.journal"
        configuration.prepareDatabase { db in
            // Set here rather than with `journalMode = .wal`, which would then lower
            // `synchronous` to NORMAL (a commit could be lost at power loss).
            let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
            guard mode == "wal" else {
                throw DatabaseError(message: "cannot switch to WAL mode (journal mode is \(mode ?? "unknown"))")
            }
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            self.database = try DatabaseQueue(path: path, configuration: configuration)
            try self.database.read { db in
                let check = try String.fetchAll(db, sql: "PRAGMA quick_check")
                guard check == ["ok"] else {
                    throw DatabaseError(
                        resultCode: .SQLITE_CORRUPT, message: "integrity check: \(check.prefix(3).joined(separator: "; "))")
                }
            }
            let migrator = HAJournalRow.migrator
            if try self.database.read({ try migrator.hasBeenSuperseded($0) }) {
                throw DataDirectoryError(
                    .corrupt, Self.subject, path,
                    "was written by a newer version of Vigil; run that version again, or move the file aside "
                        + "to start a new journal (peers sync the current HA records back)")
            }
            try migrator.migrate(self.database)
        } catch let error as DataDirectoryError {
            throw error
        } catch {
            throw Self.openError(error, path: path)
        }
    }

    /// Appends `record`, stamped with the clock, and returns once it is on disk.
    /// - Throws: ``DataDirectoryError`` if it could not be written (disk full, I/O error).
    @discardableResult
    public func append(_ record: HARecord) throws(DataDirectoryError) -> Entry {
        let now = self.clock().timeIntervalSince1970 * 1000
        var row = HAJournalRow(record, storedAtMs: now.isFinite ? Int64(now.rounded()) : 0)
        do {
            try self.database.write { db in try row.insert(db) }
        } catch {
            throw DataDirectoryError(.system, Self.subject, self.path, "cannot append: \(Self.reason(error))")
        }
        return Entry(id: row.id ?? 0, record: record, storedAtMs: row.storedAtMs)
    }

    /// The newest record of each node (the last one stored), sorted by node: what a
    /// restarted agent hands back to its engine.
    public func latestRecords() throws(DataDirectoryError) -> [HARecord] {
        let latest = try self.entries(
            sql: "SELECT * FROM ha_record WHERE id IN (SELECT MAX(id) FROM ha_record GROUP BY node) ORDER BY node",
            arguments: [])
        return latest.map(\.record)
    }

    /// Every row, or only those about `node`, oldest first.
    public func history(node: String? = nil) throws(DataDirectoryError) -> [Entry] {
        if let node {
            return try self.entries(sql: "SELECT * FROM ha_record WHERE node = ? ORDER BY id", arguments: [node])
        }
        return try self.entries(sql: "SELECT * FROM ha_record ORDER BY id", arguments: [])
    }

    /// SQLite's settings on the journal's connection, for tests: `journal_mode` and
    /// `synchronous` (2 is FULL).
    func pragma(_ name: String) throws -> String? {
        try self.database.read { db in try String.fetchOne(db, sql: "PRAGMA \(name)") }
    }

    private func entries(sql: String, arguments: StatementArguments) throws(DataDirectoryError) -> [Entry] {
        let rows: [HAJournalRow]
        do {
            rows = try self.database.read { db in try HAJournalRow.fetchAll(db, sql: sql, arguments: arguments) }
        } catch {
            throw DataDirectoryError(.system, Self.subject, self.path, "cannot read: \(Self.reason(error))")
        }
        var entries: [Entry] = []
        entries.reserveCapacity(rows.count)
        for row in rows {
            guard let id = row.id, let record = row.record else {
                throw DataDirectoryError(
                    .corrupt, Self.subject, self.path,
                    "row \(row.id.map(String.init) ?? "?") about `\(row.node)` holds a value out of range; "
                        + "the file was edited or damaged. Move it aside (keep it for the incident) and start "
                        + "again: peers sync the current HA records back")
            }
            entries.append(Entry(id: id, record: record, storedAtMs: row.storedAtMs))
        }
        return entries
    }

    static let subject = "HA journal"

    /// One line for a journal that cannot be opened, by what SQLite said.
    static func openError(_ error: any Error, path: String) -> DataDirectoryError {
        let reason = Self.reason(error)
        switch (error as? DatabaseError)?.resultCode {
        case .SQLITE_NOTADB?, .SQLITE_CORRUPT?:
            return DataDirectoryError(
                .corrupt, Self.subject, path,
                "is not a readable SQLite database (\(reason)); it holds this node's HA history, so it is left "
                    + "as it is. Move it aside (keep it for the incident) and start again: the agent makes a new "
                    + "journal and its peers sync the current HA records back")
        default:
            return DataDirectoryError(
                .system, Self.subject, path,
                "cannot be opened (\(reason)); check that it and the data directory are a regular file and a "
                    + "directory writable by the agent's user, and that the disk has room")
        }
    }

    static func reason(_ error: any Error) -> String {
        guard let error = error as? DatabaseError else { return "\(error)" }
        return error.message ?? "SQLite error \(error.resultCode.rawValue)"
    }
}
