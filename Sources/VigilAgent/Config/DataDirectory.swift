import Foundation
import Logging
import VigilCore
import VigilCrypto

/// The agent's state on disk, kept so that a restarted node comes back as itself
/// with a higher incarnation and can rejoin without its seeds:
///
/// - `identity.key`: the 32-byte Ed25519 seed of this node's identity, made at first
///   start, mode 0600. Peers refuse a known name that shows up with another key, so
///   this file *is* the node's name in the cluster.
/// - `life`: how many times the agent has started (decimal text). Each start takes
///   the next life; the first incarnation is `Incarnation.first(life:)`.
/// - `members.json`: the last members seen, for rejoining (see ``SnapshotMember``).
///
/// Every file is replaced atomically (temporary file, `fsync`, `rename`), so a crash
/// or power loss leaves the old version or the new one, never a torn file.
public struct DataDirectory: Sendable {
    public let path: String

    public static let identityFileName = "identity.key"
    public static let lifeFileName = "life"
    public static let snapshotFileName = "members.json"

    /// The wall-clock origin of lives when the counter is lost (2020-01-01T00:00:00Z).
    static let lifeEpoch = Date(timeIntervalSince1970: 1_577_836_800)
    static let snapshotVersion = 1

    /// Opens the data directory, creating it with mode 0700 if it is missing.
    /// - Throws: ``DataDirectoryError`` if it cannot be created or is not a directory.
    public init(path: String) throws(DataDirectoryError) {
        self.path = path
        let status: FileSystem.Status?
        do throws(FileSystem.Failure) {
            status = try FileSystem.status(of: path)
            if status == nil {
                try FileSystem.createDirectory(path, mode: 0o700)
            }
        } catch {
            throw .system("data directory", error)
        }
        if let status, !status.isDirectory {
            throw DataDirectoryError(
                .wrongType, "data directory", path, "is not a directory; set `--data-dir` to a directory")
        }
    }

    public var identityPath: String { self.file(Self.identityFileName) }
    public var lifePath: String { self.file(Self.lifeFileName) }
    public var snapshotPath: String { self.file(Self.snapshotFileName) }

    // MARK: Identity

    /// This node's identity key: read from `identity.key`, or made and saved (mode
    /// 0600) on first start.
    /// - Throws: ``DataDirectoryError`` if the file can be read by group or others,
    ///   is not 32 bytes, or cannot be read or written. The agent must not start
    ///   then: a leaked key lets anyone sign as this node, and a new key would make
    ///   its peers refuse its name.
    public func loadOrCreateIdentity() throws(DataDirectoryError) -> SigningKey {
        let path = self.identityPath
        do throws(FileSystem.Failure) {
            if try FileSystem.status(of: path) == nil {
                let key = SigningKey.generate()
                if try FileSystem.createExclusively(key.seed, at: path, mode: 0o600) {
                    return key
                }
                // Another process made one meanwhile: use that one, like every later start.
            }
        } catch {
            throw .system("identity key", error)
        }
        return try self.readIdentity()
    }

    private func readIdentity() throws(DataDirectoryError) -> SigningKey {
        let path = self.identityPath
        let status: FileSystem.Status?
        do throws(FileSystem.Failure) {
            status = try FileSystem.status(of: path)
        } catch {
            throw .system("identity key", error)
        }
        guard let status, status.isRegularFile else {
            throw DataDirectoryError(
                .wrongType, "identity key", path, "is not a regular file; move it away to make a new identity")
        }
        guard status.permissions & 0o077 == 0 else {
            throw DataDirectoryError(
                .unsafePermissions, "identity key", path,
                "has mode \(Self.octal(status.permissions)), so other users can read or replace this node's "
                    + "secret key; run `chmod 600 \(path)` (and make a new identity if it may have leaked)")
        }
        let seed: [UInt8]
        do throws(FileSystem.Failure) {
            seed = try FileSystem.read(path, limit: 4096)
        } catch {
            throw .system("identity key", error)
        }
        guard seed.count == SigningKey.seedByteCount, let key = SigningKey(seed: seed) else {
            throw DataDirectoryError(
                .wrongSize, "identity key", path,
                "is \(seed.count) bytes, not the \(SigningKey.seedByteCount)-byte Ed25519 seed Vigil writes; "
                    + "restore it from a backup, or remove it to start as a new identity (peers that knew the old "
                    + "one refuse this name until it is forgotten or force-left)")
        }
        return key
    }

    // MARK: Lives

    /// Takes the next life: reads the counter, adds one, saves it, returns it.
    ///
    /// A missing or unreadable counter (a wiped or new data directory) restarts at
    /// the seconds since 2020-01-01 (at least 1), which is above every life this node
    /// used before unless it started more than once a second on average since its
    /// first start: a wiped node still comes back with a higher incarnation.
    /// - Parameter now: the wall clock, for tests.
    /// - Throws: ``DataDirectoryError`` if the counter cannot be saved: starting with
    ///   a life that is not durable could repeat it after the next crash.
    public func nextLife(now: Date = Date()) throws(DataDirectoryError) -> UInt32 {
        let path = self.lifePath
        let stored: UInt32?
        do throws(FileSystem.Failure) {
            let bytes = try FileSystem.read(path, limit: 64)
            stored = String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isWhitespace).first
                .flatMap { UInt32($0) }
        } catch {
            // Too long to be a counter (EFBIG) counts as unreadable, like garbage.
            guard error.isNotFound || error.code == EFBIG else { throw .system("life counter", error) }
            stored = nil
        }
        let life: UInt32
        if let stored {
            guard stored < .max else {
                throw DataDirectoryError(
                    .exhausted, "life counter", path,
                    "has reached its maximum; remove it to restart from the wall clock")
            }
            life = stored + 1
        } else {
            let seconds = now.timeIntervalSince(Self.lifeEpoch).rounded(.down)
            life = UInt32(clamping: Int64(max(1, min(seconds, Double(UInt32.max - 1)))))
        }
        do throws(FileSystem.Failure) {
            try FileSystem.writeAtomically(Array("\(life)\n".utf8), to: path, mode: 0o600)
        } catch {
            throw .system("life counter", error)
        }
        return life
    }

    // MARK: Members snapshot

    /// Saves the members this node knows, replacing the previous snapshot.
    public func saveSnapshot(_ members: [SnapshotMember]) throws(DataDirectoryError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let bytes: [UInt8]
        do {
            bytes = Array(try encoder.encode(Snapshot(version: Self.snapshotVersion, members: members)))
        } catch {
            throw DataDirectoryError(.corrupt, "members snapshot", self.snapshotPath, "cannot encode: \(error)")
        }
        do throws(FileSystem.Failure) {
            try FileSystem.writeAtomically(bytes, to: self.snapshotPath, mode: 0o600)
        } catch {
            throw .system("members snapshot", error)
        }
    }

    /// The members last saved; `[]` if there is no snapshot.
    /// - Throws: ``DataDirectoryError`` if the snapshot cannot be read or decoded.
    public func readSnapshot() throws(DataDirectoryError) -> [SnapshotMember] {
        let path = self.snapshotPath
        let bytes: [UInt8]
        do throws(FileSystem.Failure) {
            bytes = try FileSystem.read(path, limit: 256 << 20)
        } catch {
            if error.isNotFound { return [] }
            throw .system("members snapshot", error)
        }
        let snapshot: Snapshot
        do {
            snapshot = try JSONDecoder().decode(Snapshot.self, from: Data(bytes))
        } catch {
            throw DataDirectoryError(
                .corrupt, "members snapshot", path, "cannot be decoded (\(Self.summary(of: error))); it is ignored")
        }
        guard snapshot.version == Self.snapshotVersion else {
            throw DataDirectoryError(
                .corrupt, "members snapshot", path,
                "has version \(snapshot.version), this agent reads \(Self.snapshotVersion); it is ignored")
        }
        return snapshot.members
    }

    /// The members last saved, or `[]` if there is none or it cannot be read: a bad
    /// snapshot only costs the rejoin shortcut (the seeds still work), so it is
    /// logged and ignored, never fatal.
    public func loadSnapshot(logger: Logger) -> [SnapshotMember] {
        do {
            return try self.readSnapshot()
        } catch {
            logger.warning(
                "Ignoring the members snapshot; rejoining through the seeds only",
                metadata: ["data.path": "\(error.path)", "error": "\(error)"])
            return []
        }
    }

    // MARK: Helpers

    func file(_ name: String) -> String {
        self.path.hasSuffix("/") ? "\(self.path)\(name)" : "\(self.path)/\(name)"
    }

    private static func octal(_ permissions: UInt32) -> String {
        let digits = String(permissions, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// One line about a decoding error, without Foundation's multi-line dumps.
    private static func summary(of error: any Error) -> String {
        guard let error = error as? DecodingError else { return Check.oneLine("\(error)") }
        let context: DecodingError.Context
        switch error {
        case .dataCorrupted(let c), .keyNotFound(_, let c), .typeMismatch(_, let c), .valueNotFound(_, let c):
            context = c
        @unknown default:
            return Check.oneLine("\(error)")
        }
        var path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        if path.hasPrefix(".") { path.removeFirst() }
        if case .keyNotFound(let key, _) = error {
            path += path.isEmpty ? key.stringValue : ".\(key.stringValue)"
            return "`\(path)` is missing"
        }
        let detail = Check.oneLine(context.debugDescription)
        return path.isEmpty ? detail : "at `\(path)`: \(detail)"
    }
}

/// The JSON of `members.json`.
private struct Snapshot: Codable {
    var version: Int
    var members: [SnapshotMember]
}
