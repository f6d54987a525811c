extension Duration {
    /// Parses what operators write: one or more `NUMBER UNIT` parts, units `ns`, `us`
    /// (or `µs`), `ms`, `s`, `m`, `h` (`500ms`, `2s`, `1m30s`, `1.5s`); a bare `0` is
    /// zero. Surrounding spaces are ignored. `nil` for anything else. Used by the CLI
    /// flags and the agent's configuration file alike.
    public init?(parsing text: String) {
        let s = Substring(text).drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }
        var rest = Substring(String(s.reversed()))
        if rest == "0" {
            self = .zero
            return
        }
        guard !rest.isEmpty else { return nil }
        var total: Double = 0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
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
        self = .nanoseconds(Int64(total.rounded()))
    }
}
