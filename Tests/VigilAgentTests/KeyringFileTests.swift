import Foundation
import Testing
import VigilCrypto

@testable import VigilAgent

/// The keyring file that `vigil keys` rotation rewrites, and how it combines with
/// the `encrypt` setting.
@Suite final class KeyringFileTests {
    let directory: String

    init() throws {
        self.directory =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("vigil-keyring-\(UInt64.random(in: 0...UInt64.max))").path
        try FileManager.default.createDirectory(atPath: self.directory, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: self.directory)
    }

    func mode(of path: String) throws -> Int {
        try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    @Test func savedKeyringLoadsBackIdenticalWithMode0600() throws {
        let old = ClusterKey.generate()
        let new = ClusterKey.generate()
        var keyring = Keyring(primary: old)
        keyring.install(new)
        try keyring.use(new)  // mid-rotation: new seals, old still opens
        let path = "\(self.directory)/keyring.json"

        try AgentConfiguration.saveKeyring(keyring, to: path)
        #expect(try self.mode(of: path) == 0o600)

        let configuration = AgentConfiguration(name: "n", keyringFile: path)
        let loaded = try #require(try configuration.loadKeyring())
        #expect(loaded == keyring)
        #expect(loaded.primary == new)
        #expect(loaded.keys == [old, new])

        // Rewriting replaces the file and keeps the mode.
        try keyring.remove(old)
        try AgentConfiguration.saveKeyring(keyring, to: path)
        #expect(try configuration.loadKeyring() == keyring)
        #expect(try self.mode(of: path) == 0o600)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: self.directory)
        #expect(leftovers == ["keyring.json"], "no temporary files are left behind")
    }

    @Test func unwritableKeyringFileNamesThePathAndTheReason() {
        let path = "\(self.directory)/missing/keyring.json"
        let error = #expect(throws: ConfigurationError.self) {
            try AgentConfiguration.saveKeyring(Keyring(primary: ClusterKey.generate()), to: path)
        }
        #expect(error?.description == "keyring file \(path): cannot write: No such file or directory")
    }

    @Test func keyringFileWinsOverTheEncryptKey() throws {
        let rotated = ClusterKey.generate()
        let path = "\(self.directory)/keyring.json"
        try AgentConfiguration.saveKeyring(Keyring(primary: rotated), to: path)
        let configuration = AgentConfiguration(
            name: "n", encryptKey: ClusterKey.generate().base64, keyringFile: path)
        #expect(try configuration.loadKeyring()?.primary == rotated)
    }

    @Test func missingKeyringFileFallsBackToTheEncryptKey() throws {
        let key = ClusterKey.generate()
        let configuration = AgentConfiguration(
            name: "n", encryptKey: key.base64, keyringFile: "\(self.directory)/absent.json")
        let keyring = try configuration.loadKeyring()
        #expect(keyring == Keyring(primary: key))
    }

    @Test func missingKeyringFileWithoutAnEncryptKeyFailsClearly() throws {
        let path = "\(self.directory)/absent.json"
        let configuration = AgentConfiguration(name: "n", keyringFile: path)
        let error = #expect(throws: ConfigurationError.self) { try configuration.loadKeyring() }
        #expect(error?.source == "keyring file \(path)")
        #expect(error?.description.contains("does not exist") == true)
    }

    @Test func noKeyAtAllIsRefusedUnlessInsecure() throws {
        let error = #expect(throws: ConfigurationError.self) {
            try AgentConfiguration(name: "n").loadKeyring()
        }
        #expect(error?.description.contains("--insecure-no-encryption") == true)
        #expect(try AgentConfiguration(name: "n", insecureNoEncryption: true).loadKeyring() == nil)
    }

    @Test func corruptKeyringFileNamesTheFileAndTheBadKey() throws {
        let path = "\(self.directory)/keyring.json"
        let configuration = AgentConfiguration(name: "n", keyringFile: path)

        try Data("not json".utf8).write(to: URL(fileURLWithPath: path))
        let notJSON = #expect(throws: ConfigurationError.self) { try configuration.loadKeyring() }
        #expect(notJSON?.source == "keyring file \(path)")
        #expect(notJSON?.description.contains(#"must be JSON like {"primary""#) == true)

        try Data(#"{"keys": []}"#.utf8).write(to: URL(fileURLWithPath: path))
        let noPrimary = #expect(throws: ConfigurationError.self) { try configuration.loadKeyring() }
        #expect(noPrimary?.description.contains("`primary` is missing") == true)

        let good = ClusterKey.generate().base64
        try Data(#"{"primary": "\#(good)", "keys": ["\#(good)", "bad!"]}"#.utf8)
            .write(to: URL(fileURLWithPath: path))
        let badKey = #expect(throws: ConfigurationError.self) { try configuration.loadKeyring() }
        #expect(badKey?.key == "keys[1]")
        #expect(badKey?.description.contains("must be a cluster key in base64") == true)
        #expect(badKey?.description.contains("\n") == false)
    }
}
