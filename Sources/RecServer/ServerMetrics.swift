import Foundation
import HTTPTypes
import Hummingbird
import Prometheus

/// The server's Prometheus metrics, served at `/metrics`: requests and latency per route, events
/// ingested, and the model version in use.
public final class ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let feedbackIngested: Counter
    let modelVersion: Gauge

    /// Latency buckets, from 0.1 ms to 2.5 s.
    static let buckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(1000), .milliseconds(2500),
    ]

    static var requests: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "reckit", subsystem: "http", metricName: "requests", unitName: "total", helpText: "HTTP requests"
        )
    }
    static var latency: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "reckit", subsystem: "http", metricName: "request_duration", unitName: "seconds",
            helpText: "HTTP request latency")
    }

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        feedbackIngested = registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "reckit", metricName: "feedback_ingested", unitName: "total",
                helpText: "Feedback rows inserted or replaced"))
        modelVersion = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "reckit", metricName: "model_version", unitName: "",
                helpText: "Version of the model in use (0: none)"))
    }

    func recordRequest(route: String, method: String, status: Int, duration: Duration) {
        let labels = [("route", route), ("method", method), ("status", String(status))]
        registry.makeCounter(descriptor: Self.requests, labels: labels).increment()
        registry.makeDurationHistogram(
            descriptor: Self.latency, labels: [("route", route), ("method", method)], buckets: Self.buckets
        ).record(duration)
    }
}

/// Records every request's route pattern, status and latency.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let clock = ContinuousClock()
        let start = clock.now
        let route = context.endpointPath ?? "unknown"
        do {
            let response = try await next(request, context)
            metrics.recordRequest(
                route: route, method: request.method.rawValue, status: response.status.code, duration: clock.now - start
            )
            return response
        } catch let error as HTTPResponseError {
            metrics.recordRequest(
                route: route, method: request.method.rawValue, status: error.status.code, duration: clock.now - start)
            throw error
        }
    }
}
