//! Prometheus metrics: `GET /metrics` in the text exposition format (version 0.0.4).
//!
//! Three sources, all rendered at scrape time:
//!
//! - the engine's [`Snapshot`](loader_core::Snapshot): the concurrency limit, in-flight
//!   batches, queue lengths, throughput, error ratio, latency / queue wait / batch size
//!   quantiles, and the batch, error, shed, timeout and panic counters of each query group;
//! - histograms of every batch call, fed by the engine's `loader.batch` spans through
//!   [`BatchHistogramLayer`] (installed by [`telemetry::init`](crate::telemetry::init));
//! - HTTP request counters, a latency histogram and in-progress gauges from
//!   [`HttpMetricsLayer`].
//!
//! The names are listed in docs/observability.md, "Metrics".
//!
//! # Examples
//!
//! ```no_run
//! # fn wire(engine: loader_core::Engine, app: axum::Router) -> axum::Router {
//! app.merge(observability::metrics::router(engine))
//!     .layer(observability::metrics::http_metrics_layer())
//! # }
//! ```

mod batch_histograms;
mod http;
mod loader_collector;
mod registry;

pub use batch_histograms::BatchHistogramLayer;
pub use http::{HttpMetricsFuture, HttpMetricsLayer, HttpMetricsService};
pub use registry::{CONTENT_TYPE, Metrics, http_metrics_layer, router};
