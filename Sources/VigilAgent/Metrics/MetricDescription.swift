/// One metric the agent exports: its Prometheus name, type, labels and help text.
/// swift-metrics has no place for help text, so the Prometheus factory
/// (``DescribedPrometheusFactory``) looks it up here by name.
public struct MetricDescription: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        case counter, gauge, histogram
    }

    public var name: String
    public var kind: Kind
    /// Label names; each has a small fixed set of values (or, for `member`, at most
    /// ``AgentMetrics/maxPhiSeries`` at a time).
    public var labels: [String]
    public var help: String

    public init(_ name: String, _ kind: Kind, labels: [String] = [], _ help: String) {
        self.name = name
        self.kind = kind
        self.labels = labels
        self.help = help
    }
}
