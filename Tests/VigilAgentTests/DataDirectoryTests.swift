import Foundation
import Logging
import Testing
import VigilCore
import VigilCrypto

@testable import VigilAgent

/// The data directory: identity key, life counter, members snapshot.
@Suite final class DataDirectoryTests {
    let root: String
    static let quiet = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    /// A data directory made fresh for each test, inside `root`.
    let directory: DataDirectory

    init() throws {
        self.root =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("vigil-data-\(UInt64.random(in: 0...UInt64.max))").path
        self.directory = try DataDirectory(path: "\(self.root)/data")
    }

    deinit {
        try? FileManager.default.removeItem(atPath: self.root)
    }

    func mode(of path: String) throws -> Int {
        try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    func setMode(_ mode: Int, of path: String) throws {
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    // MARK: Directory

    @Test func missingDirectoryIsCreatedWithMode0700() throws {
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: self.directory.path, isDirectory: &isDirectory))
        #expect(isDirectory.boolValue)
        #expect(try self.mode(of: self.directory.path) == 0o700)
        // Opening it again leaves it as it is.
        _ = try DataDirectory(path: self.directory.path)
    }

    @Test func aFileWhereTheDirectoryShouldBeIsRefused() throws {
        let path = "\(self.root)/file"
        _ = FileManager.default.createFile(atPath: path, contents: Data())
        let error = #expect(throws: DataDirectoryError.self) { try DataDirectory(path: path) }
        #expect(error?.kind == .wrongType)
        #expect(error?.description == "data directory \(path): is not a directory; set `--data-dir` to a directory")
    }

    // MARK: Identity

    @Test func identityIsCreatedWithMode0600AndReused() throws {
        let first = try self.directory.loadOrCreateIdentity()
        #expect(try self.mode(of: self.directory.identityPath) == 0o600)
        let stored = try #require(FileManager.default.contents(atPath: self.directory.identityPath))
        #expect(stored.count == 32)

        let second = try self.directory.loadOrCreateIdentity()
        #expect(second.publicKey == first.publicKey)
        let reopened = try DataDirectory(path: self.directory.path).loadOrCreateIdentity()
        #expect(reopened.publicKey == first.publicKey)
    }

    @Test func identityReadableByOthersIsRefused() throws {
        _ = try self.directory.loadOrCreateIdentity()
        try self.setMode(0o644, of: self.directory.identityPath)
        let error = #expect(throws: DataDirectoryError.self) { try self.directory.loadOrCreateIdentity() }
        #expect(error?.kind == .unsafePermissions)
        #expect(error?.description.contains("has mode 0644") == true)
        #expect(error?.description.contains("chmod 600 \(self.directory.identityPath)") == true)

        try self.setMode(0o640, of: self.directory.identityPath)
        #expect(throws: DataDirectoryError.self) { try self.directory.loadOrCreateIdentity() }
    }

    @Test func identityOfTheWrongSizeIsRefused() throws {
        for size in [0, 31, 33, 64] {
            _ = try? FileManager.default.removeItem(atPath: self.directory.identityPath)
            _ = FileManager.default.createFile(
                atPath: self.directory.identityPath, contents: Data(repeating: 7, count: size),
                attributes: [.posixPermissions: 0o600])
            let error = #expect(throws: DataDirectoryError.self) { try self.directory.loadOrCreateIdentity() }
            #expect(error?.kind == .wrongSize, "\(size) bytes")
            #expect(error?.description.contains("is \(size) bytes") == true)
        }
    }

    // MARK: Lives

    @Test func lifeIncreasesOnEveryStart() throws {
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        var lives: [UInt32] = []
        for _ in 0..<5 {
            lives.append(try self.directory.nextLife(now: now))
        }
        #expect(lives == Array(lives[0]..<lives[0] + 5))
        // A new DataDirectory value over the same path continues the count.
        #expect(try DataDirectory(path: self.directory.path).nextLife(now: now) == lives[4] + 1)
        #expect(try self.mode(of: self.directory.lifePath) == 0o600)
        #expect(Incarnation.first(life: lives[1]) > Incarnation.first(life: lives[0]))
    }

    @Test func missingLifeStartsFromWallClockSecondsSince2020() throws {
        let now = Date(timeIntervalSince1970: 1_577_836_800 + 123_456.7)
        #expect(try self.directory.nextLife(now: now) == 123_456)
        #expect(try self.directory.nextLife(now: now) == 123_457)

        // The data directory is wiped a while later: the life still moves forward.
        try FileManager.default.removeItem(atPath: self.directory.lifePath)
        #expect(try self.directory.nextLife(now: now.addingTimeInterval(60)) == 123_516)

        // A clock before 2020 still gives a valid (positive) life.
        try FileManager.default.removeItem(atPath: self.directory.lifePath)
        #expect(try self.directory.nextLife(now: Date(timeIntervalSince1970: 0)) == 1)
    }

    @Test func unreadableLifeCounterRestartsFromTheWallClock() throws {
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: self.directory.lifePath))
        let now = Date(timeIntervalSince1970: 1_577_836_800 + 1000)
        #expect(try self.directory.nextLife(now: now) == 1000)
    }

    @Test func exhaustedLifeCounterIsAnError() throws {
        try Data("\(UInt32.max)\n".utf8).write(to: URL(fileURLWithPath: self.directory.lifePath))
        let error = #expect(throws: DataDirectoryError.self) { try self.directory.nextLife() }
        #expect(error?.kind == .exhausted)
    }

    // MARK: Members snapshot

    @Test func snapshotRoundTrips() throws {
        #expect(try self.directory.readSnapshot() == [])
        let members = [
            SnapshotMember(name: "a", address: Address(host: "10.0.0.1", port: 7946), status: .alive),
            SnapshotMember(name: "b", address: Address(host: "fe80::1", port: 7000), status: .suspect),
            SnapshotMember(name: "c", address: Address(host: "node-c.example", port: 1), status: .failed),
            SnapshotMember(name: "d", address: Address(host: "10.0.0.4", port: 7946), status: .left),
        ]
        try self.directory.saveSnapshot(members)
        #expect(try self.directory.readSnapshot() == members)
        #expect(self.directory.loadSnapshot(logger: Self.quiet) == members)
        #expect(try self.mode(of: self.directory.snapshotPath) == 0o600)

        try self.directory.saveSnapshot(Array(members.prefix(1)))
        #expect(try self.directory.readSnapshot() == Array(members.prefix(1)))
    }

    @Test func corruptSnapshotIsReportedAndIgnored() throws {
        let corruptions = [
            "{not json",
            #"{"version": 1, "members": [{"name": "a", "address": "nowhere", "status": "alive"}]}"#,
            #"{"version": 1, "members": [{"name": "a", "address": "10.0.0.1:1", "status": "zombie"}]}"#,
            #"{"version": 1}"#,
            #"{"version": 99, "members": []}"#,
            "",
        ]
        for text in corruptions {
            try Data(text.utf8).write(to: URL(fileURLWithPath: self.directory.snapshotPath))
            let error = #expect(throws: DataDirectoryError.self, "\(text)") { try self.directory.readSnapshot() }
            #expect(error?.kind == .corrupt)
            #expect(error?.description.hasPrefix("members snapshot \(self.directory.snapshotPath): ") == true)
            #expect(error?.description.contains("\n") == false, "\(error?.description ?? "")")
            #expect(self.directory.loadSnapshot(logger: Self.quiet) == [])
        }
        // Random bytes never trap.
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let bytes = (0..<Int.random(in: 0...200, using: &generator)).map { _ in
                UInt8.random(in: 0...255, using: &generator)
            }
            try Data(bytes).write(to: URL(fileURLWithPath: self.directory.snapshotPath))
            _ = self.directory.loadSnapshot(logger: Self.quiet)
        }
    }
}
