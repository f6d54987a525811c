import Foundation

// Contracts between the leader's HA loop (issue 4) and the drivers that act on the
// outside world. The loop decides *what* to do from the core's HA lifecycle (fence
// which node, under which term, then recover it); a driver only knows *how*. Each
// driver is a small type behind one of these protocols, chosen by configuration.
//
// Rules every driver keeps:
// - It never logs or puts on a command line a secret (password, token, key).
// - It is bounded in time: past `timeout` it gives up (killing any child process) and
//   throws; a timeout is a failure, never a success.
// - A fence driver returns only once power-off is *verified* (the BMC reports Off, or
//   the fence agent's status action says off); "request accepted" is not enough.
// - Every call carries the leader's term (the fencing token), for logs and for
//   idempotency keys; power-off is idempotent, recovery requests are deduplicated.

/// One way to power a node off (one method of one fence level).
public protocol FenceDriver: Sendable {
    /// Short name for history and logs: `redfish`, `fence_redfish`, `ipmitool`, `script`.
    var method: String { get }
    /// Powers the node off and verifies it, within `request.timeout`.
    /// - Throws: `FenceError` (unreachable, refused, still on at the deadline, ...).
    func fence(_ request: FenceRequest) async throws(FenceError) -> FenceConfirmation
    /// The node's power state as this method sees it (for `vigil fence status`).
    func powerState(of node: String, timeout: Duration) async throws(FenceError) -> PowerState
}

/// What the leader asks a fence driver to do.
public struct FenceRequest: Sendable, Equatable {
    /// The node to power off (its Vigil/Nova host name).
    public var node: String
    /// The leader's term: the fencing token of this action.
    public var term: UInt64
    /// Give up after this long (the driver's whole call, polling included).
    public var timeout: Duration

    public init(node: String, term: UInt64, timeout: Duration) {
        self.node = node
        self.term = term
        self.timeout = timeout
    }
}

/// Proof that a node is off, as a driver saw it.
public struct FenceConfirmation: Sendable, Equatable {
    /// The driver's `method`.
    public var method: String
    /// What confirmed it, for history: e.g. `PowerState Off after ForceOff`.
    public var detail: String

    public init(method: String, detail: String) {
        self.method = method
        self.detail = detail
    }
}

/// A node's power as a fence method reports it.
public enum PowerState: String, Sendable, Equatable, Codable {
    case on, off, unknown
}

/// Why a fence or power query did not succeed: one line saying what happened and
/// what to check. A struct over a private enum, so that cases can be added.
public struct FenceError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Kind: Sendable, Equatable {
        case unreachable, refused, notConfirmed, timedOut, misconfigured, failed
    }
    private let kind: Kind
    /// The method that failed and the reason, e.g.
    /// `redfish https://10.0.1.11: ForceOff answered 400: ...`.
    public let message: String

    private init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The BMC or agent could not be reached (connection refused, DNS, TLS).
    public static func unreachable(_ message: String) -> FenceError { .init(.unreachable, message) }
    /// The BMC answered and refused (HTTP 4xx/5xx, bad credentials, exit code 1).
    public static func refused(_ message: String) -> FenceError { .init(.refused, message) }
    /// Power-off was requested but the node still reports On (or unknown).
    public static func notConfirmed(_ message: String) -> FenceError { .init(.notConfirmed, message) }
    /// The deadline passed; any child process was killed.
    public static func timedOut(_ message: String) -> FenceError { .init(.timedOut, message) }
    /// The driver's configuration cannot work (missing file, bad URL).
    public static func misconfigured(_ message: String) -> FenceError { .init(.misconfigured, message) }
    /// Anything else.
    public static func failed(_ message: String) -> FenceError { .init(.failed, message) }

    public var isTimeout: Bool { self.kind == .timedOut }
    /// Which kind of failure, for history, metrics labels and tests (`timeout` is also
    /// `isTimeout`); the set may grow, so match with `default:`.
    public var isUnreachable: Bool { self.kind == .unreachable }
    public var isRefused: Bool { self.kind == .refused }
    public var isNotConfirmed: Bool { self.kind == .notConfirmed }
    public var isMisconfigured: Bool { self.kind == .misconfigured }
    /// A bounded label for the kind: `unreachable`, `refused`, `not_confirmed`,
    /// `timed_out`, `misconfigured`, `failed`.
    public var kindLabel: String {
        switch self.kind {
        case .unreachable: "unreachable"
        case .refused: "refused"
        case .notConfirmed: "not_confirmed"
        case .timedOut: "timed_out"
        case .misconfigured: "misconfigured"
        case .failed: "failed"
        }
    }
    public var description: String { self.message }
}

/// One way to restart a fenced node's virtual machines elsewhere.
public protocol RecoveryDriver: Sendable {
    /// Short name for history and logs: `masakari`, `nova`, `script`.
    var method: String { get }
    /// Asks the cloud to recover `request.node`'s instances. Called only after the
    /// node's fence was confirmed. Must be safe to call again with the same request
    /// (a new leader resuming): duplicates are recognised (Masakari's 409) or
    /// skipped by reading the cloud's own state (Nova: instances already moved).
    /// - Throws: `RecoveryError`.
    func recover(_ request: RecoveryRequest) async throws(RecoveryError) -> RecoveryOutcome
}

/// What the leader asks a recovery driver to do.
public struct RecoveryRequest: Sendable, Equatable {
    /// The fenced node (the Nova compute host name).
    public var node: String
    /// The leader's term: the fencing token of this action.
    public var term: UInt64
    /// When the node was confirmed fenced (wall clock), e.g. Masakari's
    /// `generated_time`; the same value on every retry, so duplicates are recognised.
    public var fencedAt: Date
    /// Give up after this long.
    public var timeout: Duration

    public init(node: String, term: UInt64, fencedAt: Date, timeout: Duration) {
        self.node = node
        self.term = term
        self.fencedAt = fencedAt
        self.timeout = timeout
    }
}

/// What a recovery driver did.
public struct RecoveryOutcome: Sendable, Equatable {
    public var method: String
    /// For history: e.g. `notification 5b2c... accepted (202)`, `duplicate (409): already notified`,
    /// `evacuated 7 of 7 instances (2 skipped: not evacuable)`.
    public var detail: String

    public init(method: String, detail: String) {
        self.method = method
        self.detail = detail
    }
}

/// Why a recovery did not succeed: one line. A struct over a private enum.
public struct RecoveryError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Kind: Sendable, Equatable {
        case unreachable, unauthorized, refused, timedOut, misconfigured, partial, failed
    }
    private let kind: Kind
    public let message: String

    private init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public static func unreachable(_ message: String) -> RecoveryError { .init(.unreachable, message) }
    /// Keystone refused the credentials (after one re-authentication on 401).
    public static func unauthorized(_ message: String) -> RecoveryError { .init(.unauthorized, message) }
    /// The API answered with an error that a retry will not fix as is (e.g. 400
    /// unknown host, 409 host in maintenance).
    public static func refused(_ message: String) -> RecoveryError { .init(.refused, message) }
    public static func timedOut(_ message: String) -> RecoveryError { .init(.timedOut, message) }
    public static func misconfigured(_ message: String) -> RecoveryError { .init(.misconfigured, message) }
    /// Some instances were recovered, others not (Nova); retrying resumes.
    public static func partial(_ message: String) -> RecoveryError { .init(.partial, message) }
    public static func failed(_ message: String) -> RecoveryError { .init(.failed, message) }

    public var description: String { self.message }
}
