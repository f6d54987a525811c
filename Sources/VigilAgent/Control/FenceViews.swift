import VigilCore

/// `vigil fence status --format json`: every node that ever failed, where its HA
/// lifecycle stands, and whether automatic fencing is paused — as the answering
/// member sees it (the records are gossiped, so every member agrees once they spread).
public struct FenceStatusView: Codable, Sendable, Equatable {
    /// The member answering.
    public var node: String
    /// Whether this agent's configuration lets a leader fence (`ha.enabled`).
    public var enabled: Bool
    /// The leader as this member sees it, and its term.
    public var leader: String?
    public var term: UInt64
    /// Why automatic fencing is paused (the blast-radius brake), or `nil`.
    public var brake: String?
    public var nodes: [FenceNodeView]

    public init(
        node: String, enabled: Bool, leader: String?, term: UInt64, brake: String?, nodes: [FenceNodeView]
    ) {
        self.node = node
        self.enabled = enabled
        self.leader = leader
        self.term = term
        self.brake = brake
        self.nodes = nodes
    }

    // `leader` and `brake` are written as `null` when absent, so scripts can test them.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.node, forKey: .node)
        try container.encode(self.enabled, forKey: .enabled)
        try container.encode(self.leader, forKey: .leader)
        try container.encode(self.term, forKey: .term)
        try container.encode(self.brake, forKey: .brake)
        try container.encode(self.nodes, forKey: .nodes)
    }
}

/// One node's newest HA record, with its membership status here.
public struct FenceNodeView: Codable, Sendable, Equatable {
    public var name: String
    /// Its membership status here (`alive` for a fenced node that came back).
    public var status: String
    /// `awaiting-approval`, `approved`, `fencing`, `fence-failed`, `fenced`,
    /// `recovering`, `recovery-failed`, `recovered` or `unfenced`.
    public var phase: String
    /// The life of the node the record is about (a restart is a new life).
    public var life: UInt32
    /// The fencing token: the term the step was taken under.
    public var term: UInt64
    /// Who took the step and signed it (the leader, or the member an operator used).
    public var by: String
    public var attempts: UInt16
    /// The method and what it said, or why it failed.
    public var detail: String
    /// Fenced and not yet returned to service with `vigil fence unfence`.
    public var outOfService: Bool

    public init(_ record: HARecord, status: String) {
        self.name = record.node
        self.status = status
        self.phase = record.phase.description
        self.life = record.life
        self.term = record.term
        self.by = record.leader
        self.attempts = record.attempts
        self.detail = record.detail
        self.outOfService = record.phase.isFenced
    }

    enum CodingKeys: String, CodingKey {
        case name, status, phase, life, term, by, attempts, detail
        case outOfService = "out_of_service"
    }
}

/// The answer to `vigil fence approve/confirm/unfence`: one result per node.
public struct FenceCommandView: Codable, Sendable, Equatable {
    public var results: [FenceResultView]

    public init(results: [FenceResultView]) {
        self.results = results
    }
}

public struct FenceResultView: Codable, Sendable, Equatable {
    public var node: String
    /// Whether the step was recorded (and is being gossiped).
    public var done: Bool
    /// What was recorded, or why nothing was.
    public var message: String

    public init(_ outcome: FenceCommandOutcome) {
        self.node = outcome.node
        self.done = outcome.done
        self.message = outcome.message
    }
}

/// `POST /v1/fence/approve` body: `{"nodes":["NAME",...]}` or `{"all":true}`.
struct FenceApproveBody: Codable, Sendable, Equatable {
    var nodes: [String]?
    var all: Bool?
}
