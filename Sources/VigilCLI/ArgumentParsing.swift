import VigilCore
import VigilSim

/// Parsing of the human-friendly values the CLI accepts: durations (`500ms`, `2s`,
/// `10m`, `1h`, `1m30s`, `1.5s`), fractions (`0.05` or `5%`) and partition specs
/// (`0.4@2m+30s`).
enum ArgumentParsing {
    /// Parses a duration: one or more `NUMBER UNIT` parts, units `ns`, `us`, `ms`, `s`,
    /// `m`, `h`; a bare `0` is zero. `nil` if anything else.
    static func duration(_ text: String) -> Duration? {
        let s = text.trimmingWhitespace()
        if s == "0" { return .zero }
        var total: Double = 0
        var rest = Substring(s)
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { $0.isLetter || $0 == "µ" }
            rest = rest.dropFirst(unit.count)
            let scale: Double
            switch unit {
            case "ns": scale = 1
            case "us", "µs": scale = 1e3
            case "ms": scale = 1e6
            case "s": scale = 1e9
            case "m": scale = 60e9
            case "h": scale = 3600e9
            default: return nil
            }
            total += value * scale
        }
        guard total.isFinite, total < 1e18 else { return nil }
        return .nanoseconds(Int64(total.rounded()))
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
