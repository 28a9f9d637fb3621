import CoreMetrics
import Foundation
import LetheCore
import LetheStorage
import Prometheus

/// The service's metrics in Prometheus text at `/metrics`, names prefixed `lethe_`: SCIM calls
/// counted and timed through swift-metrics as they happen, and the store's counts (requests by
/// state and kind, actions by target and state, overdue requests, the oldest open request's
/// age) read at each scrape. No label carries a subject or an identifier.
public final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory

    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                                                   .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10)]
        self.factory = factory
    }

    static var requests: MetricNameDescriptor { MetricNameDescriptor(namespace: "lethe", metricName: "requests", unitName: "", helpText: "Requests by state and kind.") }
    static var actions: MetricNameDescriptor { MetricNameDescriptor(namespace: "lethe", metricName: "actions", unitName: "", helpText: "Actions by target and state.") }
    static var overdue: MetricNameDescriptor { MetricNameDescriptor(namespace: "lethe", metricName: "overdue_requests", unitName: "",
                                              helpText: "Open, failed or needs_review requests past their due date.") }
    static var oldest: MetricNameDescriptor { MetricNameDescriptor(namespace: "lethe", metricName: "oldest_open_request_age", unitName: "seconds",
                                             helpText: "Age of the oldest request still received or in progress.") }

    /// One call to a target (the runtime's `observeCall`).
    public func recordCall(target: String, method: String, status: Int?, duration: Duration) {
        let outcome = status.map(String.init) ?? "no_answer"
        Counter(label: "lethe_scim_calls_total", dimensions: [("target", target), ("method", method), ("status", outcome)], factory: factory)
            .increment()
        Timer(label: "lethe_scim_call_duration_seconds", dimensions: [("target", target), ("method", method)], factory: factory)
            .recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    /// The text exposition, with the store's gauges as they are now.
    func exposition(database: any RequestQueries, now: Date) throws -> String {
        let gauges = try database.gauges(today: CalendarDate(secondsSince1970: now.timeIntervalSince1970))
        for state in RequestState.allCases {
            for kind in ["erasure", "revocation"] {
                registry.makeGauge(descriptor: Self.requests, labels: [("state", state.rawValue), ("kind", kind)])
                    .set(Double(gauges.requests[state.rawValue]?[kind] ?? 0))
            }
        }
        // Every state of every target, so a state that emptied reads 0 rather than its last count.
        for (target, states) in gauges.actions {
            for state in ActionState.allCases {
                registry.makeGauge(descriptor: Self.actions, labels: [("target", target), ("state", state.rawValue)])
                    .set(Double(states[state.rawValue] ?? 0))
            }
        }
        registry.makeGauge(descriptor: Self.overdue).set(Double(gauges.overdue))
        registry.makeGauge(descriptor: Self.oldest).set(gauges.oldestOpenFiledAt.map { max(0, now.timeIntervalSince($0)) } ?? 0)
        return registry.emitToString()
    }
}
