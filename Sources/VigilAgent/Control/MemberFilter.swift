/// `vigil members --status REGEX --name REGEX --tag KEY=REGEX`: serf's member filters.
///
/// As in serf, every pattern must match the whole value (`alive|suspect` means exactly
/// one of the two), all filters must match, and a member without a tag is matched as if
/// the tag were empty (so `--tag role=` selects members with no `role`).
public struct MemberFilter {
    /// A filter argument that is not a valid pattern.
    public struct InvalidPattern: Error, CustomStringConvertible, Equatable {
        /// The flag, e.g. `--status`.
        public let flag: String
        /// What the user wrote.
        public let argument: String
        /// One line: the flag, what it takes, and what was wrong.
        public let description: String

        static func regex(flag: String, argument: String, reason: String) -> InvalidPattern {
            InvalidPattern(
                flag: flag, argument: argument,
                description: "\(flag) must be a regular expression, got `\(argument)`: \(reason)")
        }

        static func tag(_ argument: String) -> InvalidPattern {
            InvalidPattern(
                flag: "--tag", argument: argument,
                description: "--tag must be KEY=REGEX like `role=db|cache`, got `\(argument)`")
        }
    }

    private let status: Regex<AnyRegexOutput>?
    private let name: Regex<AnyRegexOutput>?
    private let tags: [(key: String, value: Regex<AnyRegexOutput>)]

    /// - Parameters:
    ///   - status: pattern the status must match whole, e.g. `alive|suspect`.
    ///   - name: pattern the name must match whole, e.g. `web-.*`.
    ///   - tags: `KEY=PATTERN` each; the tag `KEY` must match `PATTERN` whole.
    /// - Throws: `InvalidPattern` naming the flag and the reason.
    public init(status: String? = nil, name: String? = nil, tags: [String] = []) throws(InvalidPattern) {
        self.status = try status.map { text throws(InvalidPattern) in
            try Self.compile(text, flag: "--status", argument: text)
        }
        self.name = try name.map { text throws(InvalidPattern) in
            try Self.compile(text, flag: "--name", argument: text)
        }
        var compiled: [(key: String, value: Regex<AnyRegexOutput>)] = []
        for tag in tags {
            guard let equals = tag.firstIndex(of: "="), equals != tag.startIndex else {
                throw .tag(tag)
            }
            let key = String(tag[..<equals])
            let pattern = String(tag[tag.index(after: equals)...])
            compiled.append((key, try Self.compile(pattern, flag: "--tag", argument: tag)))
        }
        self.tags = compiled
    }

    /// Whether `member` passes every filter.
    public func matches(_ member: MemberView) -> Bool {
        if let status = self.status, !Self.wholeMatch(status, member.status) { return false }
        if let name = self.name, !Self.wholeMatch(name, member.name) { return false }
        for (key, value) in self.tags where !Self.wholeMatch(value, member.tags[key] ?? "") {
            return false
        }
        return true
    }

    /// The members that pass, in their order.
    public func apply(_ members: [MemberView]) -> [MemberView] {
        members.filter(self.matches)
    }

    private static func wholeMatch(_ regex: Regex<AnyRegexOutput>, _ value: String) -> Bool {
        // A pattern that fails while matching (it cannot: no custom components) keeps nothing.
        ((try? regex.wholeMatch(in: value)) ?? nil) != nil
    }

    private static func compile(_ pattern: String, flag: String, argument: String) throws(InvalidPattern)
        -> Regex<AnyRegexOutput>
    {
        do {
            return try Regex(pattern)
        } catch {
            // The parser's messages can span lines; the CLI prints one.
            let reason = String(describing: error).split(whereSeparator: \.isNewline).joined(separator: " ")
            throw .regex(flag: flag, argument: argument, reason: reason)
        }
    }
}
