use std::sync::{Arc, OnceLock};

use axum::{Router, extract::State, http::header, response::IntoResponse, routing::get};
use loader_core::Engine;
use prometheus_client::registry::Registry;

use super::{
    BatchHistogramLayer, HttpMetricsLayer, batch_histograms::BatchHistograms, http::HttpMetrics,
    loader_collector::LoaderCollector,
};

/// The `Content-Type` of `/metrics`: Prometheus text format 0.0.4.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The process's metric instruments: HTTP request metrics and batch histograms, rendered
/// together with an engine snapshot. Clones share the instruments.
///
/// Most programs use the process-wide [`Metrics::global`] through [`router`] and
/// [`http_metrics_layer`]; tests that count requests make their own with [`Metrics::new`].
#[derive(Debug, Clone)]
pub struct Metrics {
    http: Arc<HttpMetrics>,
    batches: Arc<BatchHistograms>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Fresh instruments, all empty.
    pub fn new() -> Self {
        Self {
            http: Arc::new(HttpMetrics::new()),
            batches: Arc::new(BatchHistograms::new()),
        }
    }

    /// The process-wide instruments, used by [`router`], [`http_metrics_layer`] and
    /// [`telemetry::init`](crate::telemetry::init).
    pub fn global() -> &'static Metrics {
        static GLOBAL: OnceLock<Metrics> = OnceLock::new();
        GLOBAL.get_or_init(Metrics::new)
    }

    /// A tower layer recording HTTP request metrics into these instruments.
    pub fn http_layer(&self) -> HttpMetricsLayer {
        HttpMetricsLayer::new(self.http.clone())
    }

    /// A `tracing` layer recording `loader.batch` spans into these batch histograms.
    pub fn batch_layer(&self) -> BatchHistogramLayer {
        BatchHistogramLayer::new(self.batches.clone())
    }

    /// Everything, in the Prometheus text format: the engine's snapshot first, then the
    /// batch histograms and the HTTP metrics.
    pub fn render(&self, engine: &Engine) -> String {
        let mut loader = Registry::default();
        loader.register_collector(Box::new(LoaderCollector::new(engine.snapshot())));
        let mut out = encode(&loader);
        out.push_str(&self.render_instruments());
        out
    }

    /// The batch histograms and HTTP metrics alone, in the Prometheus text format.
    pub fn render_instruments(&self) -> String {
        let mut instruments = Registry::default();
        self.batches.register(&mut instruments);
        self.http.register(&mut instruments);
        encode(&instruments)
    }

    /// `GET /metrics` serving [`Metrics::render`] for `engine`.
    ///
    /// The router carries its own state, so it merges into a router of any state type.
    pub fn router<S>(&self, engine: Engine) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        Router::new()
            .route("/metrics", get(scrape))
            .with_state((self.clone(), engine))
    }
}

fn encode(registry: &Registry) -> String {
    let mut out = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut out, registry)
        .expect("writing to a String cannot fail");
    out
}

async fn scrape(State((metrics, engine)): State<(Metrics, Engine)>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        metrics.render(&engine),
    )
}

/// `GET /metrics` for `engine`, with the process-wide [`Metrics::global`] instruments.
///
/// ```no_run
/// # fn wire(engine: loader_core::Engine) {
/// let app: axum::Router = observability::metrics::router(engine);
/// # }
/// ```
pub fn router<S>(engine: Engine) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Metrics::global().router(engine)
}

/// The HTTP metrics layer of the process-wide [`Metrics::global`] instruments.
pub fn http_metrics_layer() -> HttpMetricsLayer {
    Metrics::global().http_layer()
}
