import Foundation
import VigilCore
import VigilCrypto

// The keyring file, `{"primary":"BASE64","keys":["BASE64",...],"record":{...}}`: what
// `vigil keys` rotation rewrites (`--keyring-file`, by default `keyring.json` in the
// data directory), so once it exists it wins over the `encrypt` setting, which only
// starts it: a node restarted with its old `--encrypt` comes back with the keys the
// cluster moved to, and a key removed from the cluster is not reinstalled. Written
// with mode 0600: it holds every key that opens cluster traffic.

/// The keys an agent starts with, and where they came from.
public struct StartingKeyring: Sendable, Equatable {
    public var keyring: Keyring
    /// The cluster keyring record adopted last time, to hand back to the engine
    /// (`Instance.restoreKeyring`), so versions keep growing across restarts.
    public var record: KeyringRecord?
    /// The keyring file it was read from, or `nil` if it was made from `encrypt`.
    public var file: String?
    /// The id of an `encrypt` key that the keyring file overrode and does not hold
    /// (worth a warning: the configuration is out of date).
    public var ignoredEncryptKeyID: UInt32?
}

extension AgentConfiguration {
    /// The keyring file in effect: ``keyringFile``, or `keyring.json` in the data
    /// directory, where the agent persists every cluster keyring it adopts.
    public var keyringFilePath: String {
        if let keyringFile = self.keyringFile { return keyringFile }
        let directory = self.dataDirectory.hasSuffix("/") ? String(self.dataDirectory.dropLast()) : self.dataDirectory
        return "\(directory)/keyring.json"
    }

    /// The keys this agent seals and opens gossip with.
    ///
    /// In order: the keyring file (``keyringFilePath``), if it exists; else a keyring
    /// holding only ``encryptKey``; else `nil` if ``insecureNoEncryption``. Anything
    /// else is an error, so an agent never runs unsealed by accident.
    /// - Throws: ``ConfigurationError`` naming the keyring file or setting at fault.
    public func loadKeyring() throws(ConfigurationError) -> Keyring? {
        try self.loadStartingKeyring()?.keyring
    }

    /// ``loadKeyring()`` with the persisted record and where the keys came from.
    public func loadStartingKeyring() throws(ConfigurationError) -> StartingKeyring? {
        let path = self.keyringFilePath
        let bytes: [UInt8]?
        do throws(FileSystem.Failure) {
            bytes = try FileSystem.read(path, limit: 1 << 20)
        } catch where error.isNotFound {
            bytes = nil
        } catch {
            throw ConfigurationError(source: "keyring file \(path)", message: "cannot read: \(error.reason)")
        }
        if let bytes {
            let (keyring, record) = try Self.parseKeyringFile(bytes, path: path)
            // The file wins; an `encrypt` key it lacks is only reported.
            let encrypt = self.encryptKey.flatMap { try? ClusterKey(base64: $0) }
            let ignored = encrypt.flatMap { keyring.keys.contains($0) ? nil : $0.id }
            return StartingKeyring(keyring: keyring, record: record, file: path, ignoredEncryptKeyID: ignored)
        }
        if let text = self.encryptKey {
            do {
                return StartingKeyring(keyring: Keyring(primary: try ClusterKey(base64: text)), record: nil, file: nil)
            } catch {
                throw ConfigurationError(
                    source: "configuration", key: "encrypt",
                    message: "must be a cluster key in base64, but the \(error)")
            }
        }
        if self.insecureNoEncryption {
            return nil
        }
        if self.keyringFile != nil {
            throw ConfigurationError(
                source: "keyring file \(path)",
                message: "does not exist and no `encrypt` key was given to start it; make a key with "
                    + "`vigil keygen` and pass it once with `--encrypt`")
        }
        throw ConfigurationError(
            source: "configuration",
            message: "no cluster key: give one with `--encrypt` (make one with `vigil keygen`) or a keyring with "
                + "`--keyring-file`; to run unsealed on a trusted test network, pass `--insecure-no-encryption`")
    }

    /// Writes `keyring` to `path` atomically (a crash leaves the old file or the new
    /// one), readable and writable by the owner only (mode 0600).
    /// - Throws: ``ConfigurationError`` if the file cannot be written.
    public static func saveKeyring(_ keyring: Keyring, to path: String) throws(ConfigurationError) {
        try Self.saveKeyring(keyring, record: nil, to: path)
    }

    /// ``saveKeyring(_:to:)`` with the cluster keyring record it was adopted from.
    public static func saveKeyring(_ keyring: Keyring, record: KeyringRecord?, to path: String)
        throws(ConfigurationError)
    {
        let file = KeyringFile(
            primary: keyring.primary.base64, keys: keyring.keys.map(\.base64),
            record: record.map {
                KeyringFile.Record(
                    version: $0.version, issuer: $0.issuer, payload: Data($0.payload).base64EncodedString(),
                    signature: Data($0.signature.bytes).base64EncodedString())
            })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let bytes: [UInt8]
        do {
            bytes = Array(try encoder.encode(file)) + [UInt8(ascii: "\n")]
        } catch {
            throw ConfigurationError(source: "keyring file \(path)", message: "cannot encode: \(error)")
        }
        do throws(FileSystem.Failure) {
            try FileSystem.writeAtomically(bytes, to: path, mode: 0o600)
        } catch {
            throw ConfigurationError(source: "keyring file \(path)", message: "cannot write: \(error.reason)")
        }
    }

    static func parseKeyring(_ bytes: [UInt8], path: String) throws(ConfigurationError) -> Keyring {
        try Self.parseKeyringFile(bytes, path: path).keyring
    }

    static func parseKeyringFile(_ bytes: [UInt8], path: String) throws(ConfigurationError) -> (
        keyring: Keyring, record: KeyringRecord?
    ) {
        let source = "keyring file \(path)"
        let expected = #"must be JSON like {"primary":"BASE64","keys":["BASE64",...]}"#
        let file: KeyringFile
        do {
            file = try JSONDecoder().decode(KeyringFile.self, from: Data(bytes))
        } catch let error as DecodingError {
            switch error {
            case .keyNotFound(let key, _):
                throw ConfigurationError(source: source, message: "\(expected), but `\(key.stringValue)` is missing")
            case .typeMismatch(_, let context), .valueNotFound(_, let context):
                let key = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
                throw ConfigurationError(
                    source: source, message: "\(expected), but `\(key.drop { $0 == "." })` has the wrong type")
            default:
                throw ConfigurationError(source: source, message: "\(expected), but it is not valid JSON")
            }
        } catch {
            throw ConfigurationError(source: source, message: "\(expected): \(Check.oneLine("\(error)"))")
        }
        func key(_ text: String, _ name: String) throws(ConfigurationError) -> ClusterKey {
            do {
                return try ClusterKey(base64: text)
            } catch {
                throw ConfigurationError(
                    source: source, key: name, message: "must be a cluster key in base64, but the \(error)")
            }
        }
        let primary = try key(file.primary, "primary")
        var installed: [ClusterKey] = []
        for (index, text) in (file.keys ?? []).enumerated() {
            installed.append(try key(text, "keys[\(index)]"))
        }
        // A record that does not read back is dropped, not fatal: the keys are what
        // matter, and the cluster sends the record again.
        let record = file.record.flatMap { record -> KeyringRecord? in
            guard let payload = Data(base64Encoded: record.payload), let signatureBytes = Data(base64Encoded: record.signature),
                let signature = Signature(bytes: Array(signatureBytes))
            else { return nil }
            return KeyringRecord(
                version: record.version, issuer: record.issuer, payload: Array(payload), signature: signature)
        }
        // Keep the file's order of installation, which `vigil keys list` shows.
        guard let first = installed.first else { return (Keyring(primary: primary), record) }
        var keyring = Keyring(primary: first, others: Array(installed.dropFirst()))
        keyring.install(primary)
        do {
            try keyring.use(primary)
        } catch {
            // Unreachable: `primary` was installed just above.
            throw ConfigurationError(source: source, key: "primary", message: "cannot be used: \(error)")
        }
        return (keyring, record)
    }
}

/// The keyring file's JSON.
private struct KeyringFile: Codable {
    var primary: String
    var keys: [String]?
    /// The cluster keyring record these keys were adopted from (absent in a file
    /// written by hand).
    var record: Record?

    struct Record: Codable {
        var version: UInt64
        var issuer: String
        var payload: String
        var signature: String
    }
}
