import VigilCore
import VigilSim

/// Parsing of the human-friendly values the CLI accepts: durations (`500ms`, `2s`,
/// `10m`, `1h`, `1m30s`, `1.5s`), fractions (`0.05` or `5%`) and partition specs
/// (`0.4@2m+30s`).
enum ArgumentParsing {
    /// Parses a duration: one or more `NUMBER UNIT` parts, units `ns`, `us`, `ms`, `s`,
    /// `m`, `h`; a bare `0` is zero. `nil` if anything else.
    static func duration(_ text: String) -> Duration? {
        Duration(parsing: text)
    }

    /// Parses a fraction in `0...1`, written `0.05` or `5%`.
    static func fraction(_ text: String) -> Double? {
        let s = text.trimmingWhitespace()
        let value: Double?
        if s.hasSuffix("%") {
            value = Double(s.dropLast()).map { $0 / 100 }
        } else {
            value = Double(s)
        }
        guard let v = value, v.isFinite, (0...1).contains(v) else { return nil }
        return v
    }

    /// Parses `SHARE@START+DURATION`: `SHARE` of the nodes (a fraction, or a
    /// percentage) split off `START` after convergence, for `DURATION`.
    static func partition(_ text: String, oneWay: Bool) -> PartitionSpec? {
        let s = text.trimmingWhitespace()
        guard let at = s.firstIndex(of: "@"), let plus = s[at...].firstIndex(of: "+") else { return nil }
        guard let share = self.fraction(String(s[..<at])), share > 0, share < 1,
            let start = self.duration(String(s[s.index(after: at)..<plus])),
            let length = self.duration(String(s[s.index(after: plus)...])), length > .zero
        else { return nil }
        return PartitionSpec(share: share, start: start, duration: length, oneWay: oneWay)
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let first = s.first, first.isWhitespace { s = s.dropFirst() }
        while let last = s.last, last.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
