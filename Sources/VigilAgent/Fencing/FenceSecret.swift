import Foundation

/// A BMC password, read from a file when a fence runs (so a rotated file is picked up
/// without a restart, and the secret is not kept in settings). It prints as `<secret>`,
/// so interpolating it into a log line or an error cannot leak it; the value is only
/// reached through `reveal`, at the one place that hands it to a BMC or child process.
struct FenceSecret: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    private let value: String

    init(_ value: String) {
        self.value = value
    }

    /// The secret itself: for an HTTP header, a child's stdin or its environment only.
    var reveal: String { self.value }

    var description: String { "<secret>" }
    var debugDescription: String { "<secret>" }

    /// Reads the first line of `path` (trailing CR/LF dropped), the usual shape of a
    /// password file written with `echo pw > file`.
    /// - Parameter method: the driver's name, for the error.
    static func read(fromFile path: String, method: String) throws(FenceError) -> FenceSecret {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .misconfigured(
                "\(method): cannot read the password file \(path) (\(Self.reason(error))); "
                    + "create it readable by the agent, with the BMC password on its first line")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .misconfigured("\(method): the password file \(path) is not UTF-8 text")
        }
        let firstLine = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let password = firstLine.hasSuffix("\r") ? String(firstLine.dropLast()) : String(firstLine)
        guard !password.isEmpty else {
            throw .misconfigured(
                "\(method): the password file \(path) is empty; put the BMC password on its first line")
        }
        return FenceSecret(password)
    }

    /// `text` with every occurrence of the secret replaced by `***`: for anything a
    /// child process or a BMC wrote back that goes into an error or a log.
    func scrub(_ text: String) -> String {
        text.replacingOccurrences(of: self.value, with: "***")
    }

    private static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError,
            underlying.domain == NSPOSIXErrorDomain, let code = POSIXErrorCode(rawValue: Int32(underlying.code))
        {
            return String(cString: strerror(code.rawValue))
        }
        return nsError.localizedDescription
    }
}
