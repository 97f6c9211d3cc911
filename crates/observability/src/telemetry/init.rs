use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::{
    Resource,
    propagation::TraceContextPropagator,
    trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider, SpanExporter},
};
use tracing_subscriber::{
    EnvFilter, Layer,
    filter::{FilterExt, filter_fn},
    layer::SubscriberExt,
    util::SubscriberInitExt,
};

use super::{OtlpExport, OtlpProtocol, TelemetryConfig, TelemetryGuard};
use crate::{TelemetryError, metrics::Metrics};

/// Crates of the export path itself: never exported, or each export would trace itself.
/// (Targets match by prefix: `hyper` covers `hyper_util`, `opentelemetry` the SDK and OTLP.)
const EXPORTER_TARGETS_OFF: &str = "h2=off,hyper=off,tonic=off,reqwest=off,opentelemetry=off";

/// The target of async-graphql's per-field events and spans, kept out of the console logs.
const GRAPHQL_FIELD_EVENTS: &str = "async_graphql::graphql";
/// The name of async-graphql's span around each resolved object or list field.
const GRAPHQL_FIELD_SPAN: &str = "field";

/// Installs telemetry configured from the environment
/// ([`TelemetryConfig::from_env`]); see [`init_with`].
///
/// Call it once, early in `main`, inside the Tokio runtime (the gRPC exporter needs it),
/// and keep the guard until the end of `main`.
pub fn init(default_service_name: &str) -> Result<TelemetryGuard, TelemetryError> {
    init_with(TelemetryConfig::from_env(default_service_name)?)
}

/// Installs the global `tracing` subscriber described by `config`, the loader histogram
/// layer of [`Metrics::global`] and the W3C TraceContext propagator.
///
/// Without OTLP export this costs what `tracing` with a console logger costs: no exporter,
/// no OpenTelemetry layer. With it, spans are batched and exported from a background
/// thread.
///
/// # Errors
///
/// A filter that does not parse, an exporter that cannot be built, or a global subscriber
/// installed earlier.
pub fn init_with(config: TelemetryConfig) -> Result<TelemetryGuard, TelemetryError> {
    // async-graphql's tracing extension logs an event for every field that failed, and its
    // parents, so one failed request could write thousands of lines; the server logs each
    // request's errors once instead (its `ErrorCodes` extension). Its `field` spans, one per
    // object or list field (about 3 500 for the README's nested query), stay out of the
    // console too: a console layer that takes them formats each one's path and fields for
    // log lines that never come. Without OTLP export no layer wants them, so they are not
    // even created; with it they are exported as before.
    let log_filter = parse_filter(config.logs())?.and(filter_fn(|meta| {
        !(meta.target() == GRAPHQL_FIELD_EVENTS
            && (meta.is_event() || meta.name() == GRAPHQL_FIELD_SPAN))
    }));
    let console = if config.is_json() {
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .with_filter(log_filter)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(log_filter)
            .boxed()
    };
    let provider = match config.otlp_export() {
        Some(export) => Some(tracer_provider(config.service(), export)?),
        None => None,
    };
    let batch_histograms = Metrics::global()
        .batch_layer()
        .with_filter(filter_fn(|meta| {
            meta.is_span() && meta.name() == "loader.batch"
        }))
        .boxed();
    // One list of filtered layers, the OpenTelemetry one only when exporting: an absent layer
    // stacked as `Option::None` counts as a layer that wants everything, and every span that
    // passes the level hint would be created and entered (each of async-graphql's `field`
    // spans among them), whatever the filters say.
    let mut layers = vec![console, batch_histograms];
    if let Some(provider) = &provider {
        layers.push(
            tracing_opentelemetry::layer()
                .with_tracer(provider.tracer("adaptive-graphql"))
                .with_filter(parse_filter(&format!(
                    "{},{EXPORTER_TARGETS_OFF}",
                    config.traces()
                ))?)
                .boxed(),
        );
    }

    tracing_subscriber::registry().with(layers).try_init()?;
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    if let (Some(provider), Some(export)) = (&provider, config.otlp_export()) {
        opentelemetry::global::set_tracer_provider(provider.clone());
        tracing::info!(
            service = config.service(),
            "exporting traces over OTLP ({})",
            describe(export)
        );
    }
    Ok(TelemetryGuard::new(provider))
}

/// "grpc, http://jaeger:4317" for the startup log line, resolving unset parts the way the
/// exporter does.
fn describe(export: &OtlpExport) -> String {
    let env = |key: &str| std::env::var(key).ok().filter(|v| !v.trim().is_empty());
    let protocol = export
        .transport()
        .map_or_else(|| "http/protobuf".to_owned(), |p| p.to_string());
    let endpoint = export
        .endpoint_url()
        .map(str::to_owned)
        .or_else(|| env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
        .or_else(|| env("OTEL_EXPORTER_OTLP_ENDPOINT"))
        .unwrap_or_else(|| "the default endpoint".to_owned());
    format!("{protocol}, {endpoint}")
}

fn parse_filter(directives: &str) -> Result<EnvFilter, TelemetryError> {
    EnvFilter::try_new(directives).map_err(|source| TelemetryError::Filter {
        directive: directives.to_owned(),
        source,
    })
}

/// Links kept per span unless `OTEL_SPAN_LINK_COUNT_LIMIT` says otherwise.
///
/// A `loader.batch` span links every resolver span that waited on it, and a batch holds up to
/// the loader's `max_batch_size` keys (1000 by default). The OpenTelemetry default of 128
/// links per span silently dropped the rest: in a trace of the README's nested query, 160 of
/// the 1232 `author` resolvers were reached by no batch.
pub const DEFAULT_MAX_LINKS_PER_SPAN: u32 = 4096;

/// Finished spans queued for export unless `OTEL_BSP_MAX_QUEUE_SIZE` says otherwise.
///
/// The batch processor drops every span that finds its queue full. The README's nested query
/// alone makes about 4 800 spans (one per resolved field), faster than the exporter ships
/// batches of 512, so the OpenTelemetry default of 2 048 lost parts of its trace whenever the
/// export fell behind: a field whose parent never arrived. This holds three such requests.
/// A drop is still possible under a heavier load; the SDK then warns on the console once, and
/// again with the count at shutdown.
pub const DEFAULT_MAX_QUEUED_SPANS: usize = 16_384;

/// The batch processor in front of `exporter`: the SDK's settings, read from the `OTEL_BSP_*`
/// variables, with [`DEFAULT_MAX_QUEUED_SPANS`] unless `queue_size_set`.
fn batch_processor<E: SpanExporter + 'static>(
    exporter: E,
    queue_size_set: bool,
) -> BatchSpanProcessor {
    let config = BatchConfigBuilder::default();
    let config = if queue_size_set {
        config
    } else {
        config.with_max_queue_size(DEFAULT_MAX_QUEUED_SPANS)
    };
    BatchSpanProcessor::builder(exporter)
        .with_batch_config(config.build())
        .build()
}

/// Builds a batching tracer provider that exports to `export`.
pub(crate) fn tracer_provider(
    service_name: &str,
    export: &OtlpExport,
) -> Result<SdkTracerProvider, TelemetryError> {
    let exporter = span_exporter(export)?;
    let resource = Resource::builder()
        .with_service_name(service_name.to_owned())
        .build();
    let queue_size_set = std::env::var_os("OTEL_BSP_MAX_QUEUE_SIZE").is_some();
    let mut builder = SdkTracerProvider::builder()
        .with_resource(resource)
        .with_span_processor(batch_processor(exporter, queue_size_set));
    // The SDK reads the variable itself; only its default is replaced.
    if std::env::var_os("OTEL_SPAN_LINK_COUNT_LIMIT").is_none() {
        builder = builder.with_max_links_per_span(DEFAULT_MAX_LINKS_PER_SPAN);
    }
    Ok(builder.build())
}

fn span_exporter(export: &OtlpExport) -> Result<opentelemetry_otlp::SpanExporter, TelemetryError> {
    let builder = opentelemetry_otlp::SpanExporter::builder();
    let exporter = match (export.transport(), export.endpoint_url()) {
        (None, None) => builder.build()?,
        (Some(OtlpProtocol::Grpc), endpoint) => {
            let b = builder
                .with_tonic()
                .with_protocol(opentelemetry_otlp::Protocol::Grpc);
            match endpoint {
                Some(url) => b.with_endpoint(url).build()?,
                None => b.build()?,
            }
        }
        (Some(OtlpProtocol::HttpProtobuf) | None, endpoint) => {
            let b = builder
                .with_http()
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary);
            match endpoint {
                Some(url) => b.with_endpoint(url).build()?,
                None => b.build()?,
            }
        }
    };
    Ok(exporter)
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc, Condvar, Mutex,
        atomic::{AtomicUsize, Ordering},
    };

    use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
    use opentelemetry_sdk::{error::OTelSdkResult, trace::SpanData};

    use super::*;

    /// An exporter that holds every export until the gate opens, then counts what it got:
    /// an exporter that has fallen behind a burst of spans.
    #[derive(Debug, Clone, Default)]
    struct GatedExporter {
        open: Arc<(Mutex<bool>, Condvar)>,
        exported: Arc<AtomicUsize>,
    }

    impl GatedExporter {
        fn open(&self) {
            let (open, changed) = &*self.open;
            *open.lock().unwrap() = true;
            changed.notify_all();
        }
    }

    impl SpanExporter for GatedExporter {
        fn export(
            &self,
            batch: Vec<SpanData>,
        ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
            let (open, changed) = &*self.open;
            let _open = changed
                .wait_while(open.lock().unwrap(), |open| !*open)
                .unwrap();
            self.exported.fetch_add(batch.len(), Ordering::SeqCst);
            std::future::ready(Ok(()))
        }
    }

    /// Ends `spans` spans while the exporter is stuck, then lets it go and returns how many
    /// reached it.
    fn exported_after_a_burst(spans: usize, queue_size_set: bool) -> usize {
        let exporter = GatedExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(batch_processor(exporter.clone(), queue_size_set))
            .build();
        let tracer = provider.tracer("burst");
        for _ in 0..spans {
            tracer.start("field").end();
        }
        exporter.open();
        provider
            .shutdown()
            .expect("the processor flushes and stops");
        exporter.exported.load(Ordering::SeqCst)
    }

    #[test]
    fn the_spans_of_a_nested_query_wait_for_a_slow_exporter_instead_of_being_dropped() {
        // About twice the spans of the README's nested query, ended before any export is done.
        let spans = 10_000;
        assert_eq!(exported_after_a_burst(spans, false), spans);
        // The SDK's own queue (no `OTEL_BSP_MAX_QUEUE_SIZE` in the test's environment) loses
        // most of them.
        assert!(exported_after_a_burst(spans, true) < spans / 2);
    }
}
