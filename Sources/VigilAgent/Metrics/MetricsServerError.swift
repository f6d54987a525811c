import VigilCore

/// Why the metrics endpoint could not start, as one line naming the address and what
/// to do.
public struct MetricsServerError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String

    init(_ description: String) {
        self.description = description
    }

    static func listen(_ address: Address, _ reason: String) -> MetricsServerError {
        MetricsServerError(
            "cannot serve metrics on \(address) (\(reason)): choose another `--metrics HOST:PORT` "
                + "(`VIGIL_METRICS`, `metrics:`), or stop what holds that port")
    }
}
