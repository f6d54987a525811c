import ArgumentParser
import Foundation
import VigilAgent
import VigilCore
import VigilCrypto

/// `vigil keys`: rotate the cluster's gossip keys while it runs, like `serf keys`.
struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List and rotate the cluster keys across the running cluster.",
        discussion: """
            A rotation without downtime: `vigil keys install NEW` (every node can open \
            it), `vigil keys use NEW` (every node seals with it), then `vigil keys \
            remove OLD`. Each step reaches every member through gossip, is persisted in \
            each agent's keyring file, and waits until every live member reports it.
            """,
        subcommands: [KeysList.self, KeysInstall.self, KeysUse.self, KeysRemove.self]
    )
}

struct KeysList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Show each key id: primary or installed in the cluster keyring, and on how many live members.",
        discussion: "Exit status: 0 after listing, 1 if the agent cannot be reached, 2 for bad arguments."
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    @OptionGroup var control: ControlOptions

    @Option(help: "Output format: table or json.")
    var format: Format = .table

    func run() async throws {
        let view = try await self.control.client.getKeys()
        switch self.format {
        case .table: writeToStandardOutput(ControlText.keys(view))
        case .json: writeToStandardOutput(try ControlJSON.pretty(view))
        }
    }
}

/// What `install`, `use` and `remove` share: the key, the socket, the wait.
struct KeyChangeOptions: ParsableArguments {
    @OptionGroup var control: ControlOptions

    @Argument(
        help: ArgumentHelp(
            "The key in standard base64 (44 characters), or `-` to read it from standard input "
                + "(keeps it out of shell history and the process list).", valueName: "key"))
    var key: String

    @Option(
        help: ArgumentHelp(
            "How long to wait until every live member reports the change, e.g. 10s, 1m; 0 does not wait.",
            valueName: "duration"))
    var wait: String = "10s"

    func validate() throws {
        guard ArgumentParsing.duration(self.wait) != nil else {
            throw ValidationError("--wait must be a duration like `10s` or `1m`, got `\(self.wait)`")
        }
        if self.key != "-" {
            _ = try self.parsed(self.key)
        }
    }

    func parsed(_ text: String) throws -> ClusterKey {
        do {
            return try ClusterKey(base64: text)
        } catch {
            // One line; `\(error)` names the bad character or length, never the key.
            throw ValidationError("malformed key: \(error)")
        }
    }

    /// Issues `operation`, then waits for every live member to confirm it.
    func run(_ operation: KeyOperation) async throws {
        let text = self.key == "-" ? (readLine(strippingNewline: true) ?? "") : self.key
        let key = try self.parsed(text)
        let client = self.control.client
        let answer = try await client.changeKeys(operation, key: key.base64)
        let wait = ArgumentParsing.duration(self.wait) ?? .seconds(10)
        let deadline = ContinuousClock.now + wait
        while true {
            let view = try await client.getKeys()
            let (confirmed, pending) = view.confirmation(of: operation, keyID: answer.key)
            let total = view.members.count
            if pending.isEmpty || wait == .zero {
                writeToStandardOutput(
                    ControlText.keyChange(operation, key: answer.key, confirmed: confirmed.count, total: total))
                return
            }
            if ContinuousClock.now >= deadline {
                FileHandle.standardError.write(
                    Data(
                        ControlText.keyChangeUnconfirmed(
                            operation, key: answer.key, confirmed: confirmed.count, total: total, pending: pending,
                            waited: self.wait
                        ).utf8))
                throw ExitCode(1)
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}

struct KeysInstall: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Install a key on every member: all can open packets sealed with it.",
        discussion: """
            Prints e.g. `installed key 3f2a9c01 on 5 of 5 members` once every live member \
            reports it. Exit status: 0 then, 1 if some member did not confirm within --wait \
            or the agent cannot be reached or refused, 2 for bad arguments.
            """)

    @OptionGroup var options: KeyChangeOptions

    func run() async throws {
        try await self.options.run(.install)
    }
}

struct KeysUse: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "use",
        abstract: "Make an installed key the primary on every member: all seal with it.",
        discussion: """
            Refused unless every live member has the key installed (`vigil keys install` \
            first). Exit status as for `install`.
            """)

    @OptionGroup var options: KeyChangeOptions

    func run() async throws {
        try await self.options.run(.use)
    }
}

struct KeysRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove a key from every member: packets sealed with it no longer open.",
        discussion: """
            Refused for the primary key, and while some live member still seals with it. \
            A member that was down and still holds only this key cannot rejoin afterwards. \
            Exit status as for `install`.
            """)

    @OptionGroup var options: KeyChangeOptions

    func run() async throws {
        try await self.options.run(.remove)
    }
}
