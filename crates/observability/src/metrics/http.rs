use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use axum::extract::MatchedPath;
use http::{Request, Response};
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};
use tower::{Layer, Service};

/// Request latency buckets in seconds (OpenTelemetry's HTTP server duration buckets).
const DURATION_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

/// HTTP server metrics: requests by method, route and status, their latency, and the
/// requests in progress.
#[derive(Debug, Clone)]
pub(crate) struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    duration: Family<RequestLabels, Histogram, fn() -> Histogram>,
    in_flight: Family<RouteLabels, Gauge>,
}

impl HttpMetrics {
    pub(crate) fn new() -> Self {
        Self {
            requests: Family::default(),
            duration: Family::new_with_constructor(duration_histogram),
            in_flight: Family::default(),
        }
    }

    pub(crate) fn register(&self, registry: &mut Registry) {
        registry.register(
            "http_server_requests",
            "HTTP requests answered, by method, matched route and status code",
            self.requests.clone(),
        );
        registry.register(
            "http_server_request_duration_seconds",
            "Time from receiving an HTTP request to having its response headers, by method, route and status",
            self.duration.clone(),
        );
        registry.register(
            "http_server_active_requests",
            "HTTP requests being handled now, by method and route",
            self.in_flight.clone(),
        );
    }
}

/// A tower layer that counts requests and measures their latency for `/metrics`.
///
/// Add it with `Router::layer` so that the route label is axum's matched route
/// (`/users/{id}`, not `/users/42`); requests that match no route are labelled `unmatched`.
/// Get one from [`http_metrics_layer`](super::http_metrics_layer) or
/// [`Metrics::http_layer`](super::Metrics::http_layer).
#[derive(Debug, Clone)]
pub struct HttpMetricsLayer {
    metrics: Arc<HttpMetrics>,
}

impl HttpMetricsLayer {
    pub(crate) fn new(metrics: Arc<HttpMetrics>) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for HttpMetricsLayer {
    type Service = HttpMetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpMetricsService {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// The service made by [`HttpMetricsLayer`].
#[derive(Debug, Clone)]
pub struct HttpMetricsService<S> {
    inner: S,
    metrics: Arc<HttpMetrics>,
}

impl<S, B, ResBody> Service<Request<B>> for HttpMetricsService<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = HttpMetricsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let route = RouteLabels {
            method: req.method().as_str().to_owned(),
            route: req
                .extensions()
                .get::<MatchedPath>()
                .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned()),
        };
        let active = ActiveRequest::start(self.metrics.clone(), route);
        HttpMetricsFuture {
            inner: self.inner.call(req),
            active: Some(active),
        }
    }
}

/// One request in progress: counted in `http_server_active_requests` until dropped, so a
/// cancelled request does not stay counted.
#[derive(Debug)]
struct ActiveRequest {
    metrics: Arc<HttpMetrics>,
    route: RouteLabels,
    started: Instant,
}

impl ActiveRequest {
    fn start(metrics: Arc<HttpMetrics>, route: RouteLabels) -> Self {
        metrics.in_flight.get_or_create(&route).inc();
        Self {
            metrics,
            route,
            started: Instant::now(),
        }
    }

    fn finish(self, status: u16) {
        let labels = RequestLabels {
            method: self.route.method.clone(),
            route: self.route.route.clone(),
            status,
        };
        self.metrics.requests.get_or_create(&labels).inc();
        self.metrics
            .duration
            .get_or_create(&labels)
            .observe(self.started.elapsed().as_secs_f64());
    }
}

impl Drop for ActiveRequest {
    fn drop(&mut self) {
        self.metrics.in_flight.get_or_create(&self.route).dec();
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`HttpMetricsService`].
    pub struct HttpMetricsFuture<F> {
        #[pin]
        inner: F,
        active: Option<ActiveRequest>,
    }
}

impl<F, ResBody, E> Future for HttpMetricsFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        if let Some(active) = this.active.take() {
            // An `Err` never reaches the client as a response; 500 is what hyper sends.
            let status = result.as_ref().map_or(500, |r| r.status().as_u16());
            active.finish(status);
        }
        Poll::Ready(result)
    }
}
