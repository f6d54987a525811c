import CoreMetrics
import Prometheus

/// A swift-metrics factory over a `PrometheusCollectorRegistry` that also writes each
/// metric's `# HELP` line (swift-metrics itself carries no help text) and uses
/// per-metric histogram buckets. Everything else is `PrometheusMetricsFactory`'s.
///
/// The executable makes the registry and this factory and bootstraps `MetricsSystem`
/// with it; library code only ever sees `any MetricsFactory`.
public struct DescribedPrometheusFactory: MetricsFactory {
    public let registry: PrometheusCollectorRegistry
    private let base: PrometheusMetricsFactory
    private let help: [String: String]
    private let durationBuckets: [String: [Duration]]

    /// - Parameters:
    ///   - registry: where the metrics live; render it with `emitToBuffer()`.
    ///   - help: help text by metric name (default: the agent's, ``AgentMetrics/help``).
    ///   - durationBuckets: timer buckets by metric name (default: the agent's round-trip
    ///     buckets); other timers get `PrometheusMetricsFactory`'s defaults.
    public init(
        registry: PrometheusCollectorRegistry,
        help: [String: String] = AgentMetrics.help,
        durationBuckets: [String: [Duration]] = ["vigil_ping_rtt_seconds": AgentMetrics.roundTripBuckets]
    ) {
        self.registry = registry
        self.base = PrometheusMetricsFactory(registry: registry)
        self.help = help
        self.durationBuckets = durationBuckets
    }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        self.registry.makeCounter(descriptor: self.descriptor(label), labels: dimensions)
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)])
        -> any FloatingPointCounterHandler
    {
        self.registry.makeCounter(descriptor: self.descriptor(label), labels: dimensions)
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else {
            return self.registry.makeGauge(descriptor: self.descriptor(label), labels: dimensions)
        }
        return self.registry.makeValueHistogram(
            descriptor: self.descriptor(label), labels: dimensions, buckets: self.base.defaultValueHistogramBuckets)
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        self.registry.makeGauge(descriptor: self.descriptor(label), labels: dimensions)
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        self.registry.makeDurationHistogram(
            descriptor: self.descriptor(label), labels: dimensions,
            buckets: self.durationBuckets[label] ?? self.base.defaultDurationHistogramBuckets)
    }

    /// The label as the whole Prometheus name, with its help text.
    private func descriptor(_ label: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: label, unitName: "", helpText: self.help[label] ?? "")
    }

    public func destroyCounter(_ handler: any CounterHandler) {
        self.base.destroyCounter(handler)
    }

    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        self.base.destroyFloatingPointCounter(handler)
    }

    public func destroyRecorder(_ handler: any RecorderHandler) {
        self.base.destroyRecorder(handler)
    }

    public func destroyMeter(_ handler: any MeterHandler) {
        self.base.destroyMeter(handler)
    }

    public func destroyTimer(_ handler: any TimerHandler) {
        self.base.destroyTimer(handler)
    }
}
