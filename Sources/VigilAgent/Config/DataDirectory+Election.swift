import Foundation
import VigilCore

extension DataDirectory {
    public static let electionFileName = "election.json"

    public var electionPath: String { self.file(Self.electionFileName) }

    /// Writes the election's term and vote durably (fsync, atomic rename) before the
    /// vote it records may leave this node.
    public func saveElection(_ record: ElectionRecord) throws(DataDirectoryError) {
        let bytes: [UInt8]
        do {
            bytes = Array(try JSONEncoder().encode(record))
        } catch {
            throw DataDirectoryError(.corrupt, "election state", self.electionPath, "cannot encode: \(error)")
        }
        do throws(FileSystem.Failure) {
            try FileSystem.writeAtomically(bytes, to: self.electionPath, mode: 0o600)
        } catch {
            throw .system("election state", error)
        }
    }

    /// The term and vote saved last; `nil` on first start.
    /// - Throws: ``DataDirectoryError`` if the file is there but cannot be read:
    ///   starting without it could vote twice in one term, so the agent stops and
    ///   says how to recover.
    public func loadElection() throws(DataDirectoryError) -> ElectionRecord? {
        let bytes: [UInt8]
        do throws(FileSystem.Failure) {
            bytes = try FileSystem.read(self.electionPath, limit: 1 << 20)
        } catch {
            if error.isNotFound { return nil }
            throw .system("election state", error)
        }
        do {
            return try JSONDecoder().decode(ElectionRecord.self, from: Data(bytes))
        } catch {
            throw DataDirectoryError(
                .corrupt, "election state", self.electionPath,
                "cannot be decoded; it holds this node's last leader vote. Remove it only after the cluster has "
                    + "elected a leader without this node (`vigil leader` on another node), then start again")
        }
    }
}
