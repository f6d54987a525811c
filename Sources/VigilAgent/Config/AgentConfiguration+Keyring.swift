import Foundation
import VigilCrypto

// The keyring file, `{"primary":"BASE64","keys":["BASE64",...]}`: what `vigil keys`
// rotation rewrites, so once it exists it wins over the `encrypt` setting, which only
// starts it. Written with mode 0600: it holds every key that opens cluster traffic.

extension AgentConfiguration {
    /// The keys this agent seals and opens gossip with.
    ///
    /// In order: the keyring file, if it is set and exists; else a keyring holding
    /// only ``encryptKey``; else `nil` if ``insecureNoEncryption``. Anything else
    /// is an error, so an agent never runs unsealed by accident.
    /// - Throws: ``ConfigurationError`` naming the keyring file or setting at fault.
    public func loadKeyring() throws(ConfigurationError) -> Keyring? {
        if let path = self.keyringFile {
            let bytes: [UInt8]?
            do throws(FileSystem.Failure) {
                bytes = try FileSystem.read(path, limit: 1 << 20)
            } catch  where error.isNotFound {
                bytes = nil
            } catch {
                throw ConfigurationError(source: "keyring file \(path)", message: "cannot read: \(error.reason)")
            }
            if let bytes {
                return try Self.parseKeyring(bytes, path: path)
            }
        }
        if let text = self.encryptKey {
            do {
                return Keyring(primary: try ClusterKey(base64: text))
            } catch {
                throw ConfigurationError(
                    source: "configuration", key: "encrypt",
                    message: "must be a cluster key in base64, but the \(error)")
            }
        }
        if self.insecureNoEncryption {
            return nil
        }
        if let path = self.keyringFile {
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
        let file = KeyringFile(primary: keyring.primary.base64, keys: keyring.keys.map(\.base64))
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
        // Keep the file's order of installation, which `vigil keys list` shows.
        guard let first = installed.first else { return Keyring(primary: primary) }
        var keyring = Keyring(primary: first, others: Array(installed.dropFirst()))
        keyring.install(primary)
        do {
            try keyring.use(primary)
        } catch {
            // Unreachable: `primary` was installed just above.
            throw ConfigurationError(source: source, key: "primary", message: "cannot be used: \(error)")
        }
        return keyring
    }
}

/// The keyring file's JSON.
private struct KeyringFile: Codable {
    var primary: String
    var keys: [String]?
}
