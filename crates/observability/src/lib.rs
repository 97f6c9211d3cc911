//! Seeing what the server and its adaptive dataloader do: OpenTelemetry traces, Prometheus
//! metrics and a live dashboard.
//!
//! - [`telemetry`]: [`telemetry::init`] installs the global `tracing` subscriber (console
//!   logs filtered by `RUST_LOG`, and an OTLP trace exporter when
//!   `OTEL_EXPORTER_OTLP_ENDPOINT` is set) and returns a [`telemetry::TelemetryGuard`] that
//!   flushes on drop; [`telemetry::HttpTraceLayer`] opens the `http.request` span of every
//!   request and continues the caller's W3C `traceparent`.
//! - [`metrics`]: `GET /metrics` in the Prometheus text format, computed from
//!   [`loader_core::Engine::snapshot`] at scrape time, plus HTTP request metrics from
//!   [`metrics::http_metrics_layer`].
//! - [`dashboard`]: `GET /dashboard`, a self-contained page with live charts of the
//!   concurrency limit, in-flight batches, throughput and p99 latency per query group.
//!
//! Wiring into an axum application takes a few lines:
//!
//! ```no_run
//! # async fn run(engine: loader_core::Engine, app: axum::Router) {
//! let _telemetry = observability::telemetry::init("server").expect("telemetry");
//! let app = app
//!     .merge(observability::metrics::router(engine.clone()))
//!     .merge(observability::dashboard::dashboard_router(engine.clone()))
//!     .layer(observability::metrics::http_metrics_layer())
//!     .layer(observability::telemetry::HttpTraceLayer::new());
//! # let _ = app;
//! # }
//! ```

pub mod dashboard;
pub mod metrics;
pub mod telemetry;
#[cfg(feature = "test-collector")]
pub mod test_collector;

mod error;

pub use error::TelemetryError;
