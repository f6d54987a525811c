import Foundation

/// `GET /v1/history` and `vigil history --format json`: `{"history":[...]}`, oldest first.
public struct HistoryList: Codable, Sendable, Equatable {
    public var history: [HistoryEntryView]

    public init(history: [HistoryEntryView]) {
        self.history = history
    }
}

/// One row of the HA journal (`vigil history --format json`):
///
/// - `time`: when this node stored the record, UTC, RFC 3339 with milliseconds;
/// - `node`, `life`: the failed node and which of its lives (a restart is a new life);
/// - `term`: the leader's term, the fencing token; `sequence`: the step within the term;
/// - `phase`: `awaiting-approval`, `fencing`, `fence-failed`, `fenced`, `recovering`,
///   `recovery-failed` or `recovered`;
/// - `leader`: who took the step and signed it; `attempts`: fence or recovery attempts
///   so far in this phase;
/// - `detail`: the method and what it said (`redfish: PowerState Off after ForceOff`);
/// - `since_first_ms`: milliseconds since this node stored its first row about that
///   node's life, so that `fenced` at 4200 reads "fenced 4.2 s after the first step".
public struct HistoryEntryView: Codable, Sendable, Equatable {
    public var time: String
    public var node: String
    public var life: UInt32
    public var term: UInt64
    public var sequence: UInt32
    public var phase: String
    public var leader: String
    public var attempts: UInt16
    public var detail: String
    public var sinceFirstMs: Int64

    public init(
        time: String, node: String, life: UInt32, term: UInt64, sequence: UInt32, phase: String, leader: String,
        attempts: UInt16, detail: String, sinceFirstMs: Int64
    ) {
        self.time = time
        self.node = node
        self.life = life
        self.term = term
        self.sequence = sequence
        self.phase = phase
        self.leader = leader
        self.attempts = attempts
        self.detail = detail
        self.sinceFirstMs = sinceFirstMs
    }

    enum CodingKeys: String, CodingKey {
        case time, node, life, term, sequence, phase, leader, attempts, detail
        case sinceFirstMs = "since_first_ms"
    }

    /// The views of journal rows given oldest first, each timed from the first row of
    /// its (node, life) among them.
    public static func rows(_ entries: [HAJournal.Entry]) -> [HistoryEntryView] {
        var first: [String: [UInt32: Int64]] = [:]
        return entries.map { entry in
            let record = entry.record
            let start = first[record.node]?[record.life] ?? entry.storedAtMs
            first[record.node, default: [:]][record.life] = start
            return HistoryEntryView(
                time: Self.utc(milliseconds: entry.storedAtMs), node: record.node, life: record.life,
                term: record.term, sequence: record.sequence, phase: record.phase.description, leader: record.leader,
                attempts: record.attempts, detail: record.detail,
                sinceFirstMs: max(0, entry.storedAtMs &- start))
        }
    }

    /// `2026-12-01T10:41:02.113Z`, from milliseconds since 1970, digit for digit.
    static func utc(milliseconds: Int64) -> String {
        let milliseconds = max(0, milliseconds)
        let base = Date(timeIntervalSince1970: Double(milliseconds / 1000)).formatted(.iso8601)
        let digits = String(milliseconds % 1000)
        return base.dropLast() + "." + String(repeating: "0", count: 3 - digits.count) + digits + "Z"
    }
}
