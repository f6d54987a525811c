import Foundation
import VigilCore

/// A Keystone v3 token as the drivers keep it: the `X-Subject-Token` value, when
/// it expires, and the catalog that came with it.
struct KeystoneToken: Sendable, Equatable {
    /// The token itself; a secret: never logged, never in an error.
    var value: String
    /// The token's `expires_at`.
    var expiresAt: Date
    /// When this token was issued, as this host's clock saw the answer.
    var receivedAt: Date
    var catalog: ServiceCatalog

    /// Whether to use the token at `now`, or to renew it first: renewed `renewBefore`
    /// ahead of its expiry, or at half its life if that is shorter.
    func isFresh(at now: Date, renewBefore: Duration) -> Bool {
        let life = self.expiresAt.timeIntervalSince(self.receivedAt)
        let margin = min(renewBefore.milliseconds / 1000, life / 2)
        return now < self.expiresAt.addingTimeInterval(-margin)
    }

    /// Parses Keystone's `expires_at`: ISO 8601 in UTC with optional fractional
    /// seconds of any length (`2015-11-09T01:42:57.527363Z`) or a numeric offset.
    static func parseTime(_ text: String) -> Date? {
        var base = text
        var fraction = 0.0
        if let dot = text.firstIndex(of: ".") {
            let digitsEnd = text[text.index(after: dot)...].firstIndex { !$0.isNumber } ?? text.endIndex
            fraction = Double("0" + text[dot..<digitsEnd]) ?? 0
            base = String(text[..<dot]) + String(text[digitsEnd...])
        }
        if !base.hasSuffix("Z") && !base.contains("+") && base.count == 19 { base += "Z" }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: base).map { $0.addingTimeInterval(fraction) }
    }
}
