import ArgumentParser
import VigilAgent

/// `vigil members`: the members the local agent knows, like `serf members`.
struct Members: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the members the local agent knows.",
        discussion: """
            Filters are regular expressions that must match the whole value, as in serf: \
            `--status 'alive|suspect'`, `--name 'web-.*'`, `--tag role=db` (repeatable; a \
            member without the tag is matched as if it were empty). All filters must match.

            A suspect member's line ends with who suspects it and how many failure votes \
            this node holds: `(suspected by node-2,node-5; 2 votes)`.

            Exit status: 0 after listing, 1 if the agent cannot be reached, 2 for bad arguments.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    @OptionGroup var control: ControlOptions

    @Option(
        help: ArgumentHelp(
            "Only members whose status matches this pattern (alive, suspect, failed, left).", valueName: "regex"))
    var status: String?

    @Option(help: ArgumentHelp("Only members whose name matches this pattern.", valueName: "regex"))
    var name: String?

    @Option(
        name: .customLong("tag"),
        help: ArgumentHelp("Only members whose tag KEY matches the pattern (repeatable).", valueName: "key=regex"))
    var tags: [String] = []

    @Option(help: "Output format: table or json.")
    var format: Format = .table

    func validate() throws {
        _ = try self.filter()
    }

    func run() async throws {
        let filter = try self.filter()
        let members = filter.apply(try await self.control.client.getMembers())
        switch self.format {
        case .table: writeToStandardOutput(ControlText.members(members))
        case .json: writeToStandardOutput(try ControlJSON.pretty(MemberList(members: members)))
        }
    }

    private func filter() throws -> MemberFilter {
        do {
            return try MemberFilter(status: self.status, name: self.name, tags: self.tags)
        } catch {
            throw ValidationError(error.description)
        }
    }
}
