import Foundation
import GRDB
import VigilCore
import VigilCrypto

/// One row of `ha_record`: an `HARecord` as this node stored it, and when (wall clock,
/// milliseconds since 1970 UTC: exact, where a floating-point date would not be).
///
/// Integers are kept as SQLite's signed 64-bit integers: the term as its bit pattern,
/// so that no value a validly signed record may carry can trap on the way in; the
/// narrower fields are checked on the way out. The phase is its name (`fenced`), so
/// that `sqlite3 journal.sqlite 'select * from ha_record'` reads like `vigil history`.
struct HAJournalRow: Codable, FetchableRecord, MutablePersistableRecord, Equatable {
    static let databaseTableName = "ha_record"

    var id: Int64?
    var node: String
    var life: Int64
    var term: Int64
    var sequence: Int64
    var phase: String
    var leader: String
    var attempts: Int64
    var detail: String
    var signature: Data
    var storedAtMs: Int64

    enum CodingKeys: String, CodingKey {
        case id, node, life, term, sequence, phase, leader, attempts, detail, signature
        case storedAtMs = "stored_at_ms"
    }

    init(_ record: HARecord, storedAtMs: Int64) {
        self.node = record.node
        self.life = Int64(record.life)
        self.term = Int64(bitPattern: record.term)
        self.sequence = Int64(record.sequence)
        self.phase = record.phase.description
        self.leader = record.leader
        self.attempts = Int64(record.attempts)
        self.detail = record.detail
        self.signature = Data(record.signature.bytes)
        self.storedAtMs = storedAtMs
    }

    mutating func didInsert(_ inserted: InsertionSuccess) {
        self.id = inserted.rowID
    }

    /// The record back, or `nil` if a field is out of its range (the file was edited
    /// or damaged where SQLite cannot tell).
    var record: HARecord? {
        guard let life = UInt32(exactly: self.life), let sequence = UInt32(exactly: self.sequence),
            let attempts = UInt16(exactly: self.attempts),
            let phase = HAPhase.allCases.first(where: { $0.description == self.phase }),
            let signature = Signature(bytes: Array(self.signature))
        else { return nil }
        return HARecord(
            node: self.node, life: life, term: UInt64(bitPattern: self.term), sequence: sequence, phase: phase,
            leader: self.leader, attempts: attempts, detail: self.detail, signature: signature)
    }

    /// The schema, as migrations: append new ones, never change a shipped one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: ha_record") { db in
            try db.create(table: Self.databaseTableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("node", .text).notNull()
                t.column("life", .integer).notNull()
                t.column("term", .integer).notNull()
                t.column("sequence", .integer).notNull()
                t.column("phase", .text).notNull()
                t.column("leader", .text).notNull()
                t.column("attempts", .integer).notNull()
                t.column("detail", .text).notNull()
                t.column("signature", .blob).notNull()
                t.column("stored_at_ms", .integer).notNull()
            }
            try db.create(index: "ha_record_by_node", on: Self.databaseTableName, columns: ["node", "id"])
        }
        return migrator
    }
}
