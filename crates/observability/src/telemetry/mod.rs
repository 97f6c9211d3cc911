//! Traces: the global `tracing` subscriber, the optional OTLP exporter and the HTTP span.
//!
//! # Installing
//!
//! [`init`] reads the standard OpenTelemetry environment variables ([`TelemetryConfig::from_env`])
//! and installs, once per process:
//!
//! - a console (`fmt`) layer filtered by `RUST_LOG` (default `info`);
//! - the loader histogram layer that feeds `/metrics` (see [`crate::metrics`]);
//! - only when `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set:
//!   a `tracing-opentelemetry` layer exporting spans over OTLP (gRPC or HTTP/protobuf, from
//!   `OTEL_EXPORTER_OTLP_PROTOCOL`) in batches, under the service name `OTEL_SERVICE_NAME`.
//!
//! It also installs the W3C TraceContext propagator. Keep the returned [`TelemetryGuard`]
//! alive for the life of the program: dropping it flushes the spans still buffered.
//!
//! # Span tree
//!
//! One trace per request: `http.request` ([`HttpTraceLayer`], a child of the caller's
//! `traceparent` when there is one) → async-graphql's `request` / `parse` / `validation` /
//! `execute` / `field` spans → `loader.batch` (one per batch call, a child of the resolver
//! span that opened it, with a span *link* to every other resolver span that waited on it,
//! because one batch serves many requests) → `db.query`. Limit changes are events, which
//! become span events. Spans keep up to [`DEFAULT_MAX_LINKS_PER_SPAN`] links (the
//! OpenTelemetry default, 128, is too few for a large batch) unless
//! `OTEL_SPAN_LINK_COUNT_LIMIT` is set.
//!
//! # Examples
//!
//! ```no_run
//! #[tokio::main]
//! async fn main() -> Result<(), observability::TelemetryError> {
//!     let _telemetry = observability::telemetry::init("server")?;
//!     tracing::info!("spans now go to the console, and to OTLP when configured");
//!     Ok(())
//! }
//! ```

mod config;
mod guard;
mod http_span;
mod init;
mod propagation;

pub use config::{OtlpExport, OtlpProtocol, TelemetryConfig};
pub use guard::TelemetryGuard;
pub use http_span::{HttpTrace, HttpTraceFuture, HttpTraceLayer};
pub use init::{DEFAULT_MAX_LINKS_PER_SPAN, init, init_with};
pub use propagation::{HeaderExtractor, remote_parent};
