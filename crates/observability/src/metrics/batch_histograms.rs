use std::{sync::Arc, time::Instant};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{family::Family, histogram::Histogram},
    registry::Registry,
};
use tracing::{
    Subscriber,
    field::{Field, Visit},
    span::{Attributes, Id, Record},
};
use tracing_subscriber::{Layer, layer::Context, registry::LookupSpan};

const SECONDS_BUCKETS: [f64; 16] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0,
];
const KEYS_BUCKETS: [f64; 12] = [
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 4096.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GroupLabels {
    group: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    group: String,
    outcome: String,
}

fn seconds_histogram() -> Histogram {
    Histogram::new(SECONDS_BUCKETS)
}

fn keys_histogram() -> Histogram {
    Histogram::new(KEYS_BUCKETS)
}

/// True histograms of every batch call, fed by the engine's `loader.batch` spans (the
/// engine's snapshot only holds windowed percentiles).
#[derive(Debug, Clone)]
pub(crate) struct BatchHistograms {
    duration: Family<OutcomeLabels, Histogram, fn() -> Histogram>,
    keys: Family<GroupLabels, Histogram, fn() -> Histogram>,
    queue_wait: Family<GroupLabels, Histogram, fn() -> Histogram>,
}

impl BatchHistograms {
    pub(crate) fn new() -> Self {
        Self {
            duration: Family::new_with_constructor(seconds_histogram),
            keys: Family::new_with_constructor(keys_histogram),
            queue_wait: Family::new_with_constructor(seconds_histogram),
        }
    }

    pub(crate) fn register(&self, registry: &mut Registry) {
        registry.register(
            "loader_batch_duration_seconds",
            "Duration of each batch call (the loader.batch span), by query group and outcome",
            self.duration.clone(),
        );
        registry.register(
            "loader_batch_keys",
            "Distinct keys per batch call, by query group",
            self.keys.clone(),
        );
        registry.register(
            "loader_batch_queue_wait_seconds",
            "Time the oldest key of a batch waited before the batch was dispatched, by query group",
            self.queue_wait.clone(),
        );
    }
}

/// A `tracing` layer that observes closed `loader.batch` spans into the batch histograms
/// of `/metrics`. [`telemetry::init`](crate::telemetry::init) installs the one of
/// [`Metrics::global`](super::Metrics::global); add it yourself only with a custom
/// subscriber.
#[derive(Debug, Clone)]
pub struct BatchHistogramLayer {
    histograms: Arc<BatchHistograms>,
}

impl BatchHistogramLayer {
    pub(crate) fn new(histograms: Arc<BatchHistograms>) -> Self {
        Self { histograms }
    }
}

/// What a `loader.batch` span said about its batch.
#[derive(Debug, Default)]
struct BatchFields {
    group: Option<String>,
    batch_size: Option<f64>,
    queue_wait_ms: Option<f64>,
    outcome: Option<String>,
}

/// Stored in the span's extensions while it is open.
#[derive(Debug)]
struct OpenBatch {
    fields: BatchFields,
    opened: Instant,
}

impl Visit for BatchFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "group" => self.group = Some(value.to_owned()),
            "outcome" => self.outcome = Some(value.to_owned()),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.record_f64(field, value as f64);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.record_f64(field, value as f64);
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        match field.name() {
            "batch_size" => self.batch_size = Some(value),
            "queue_wait_ms" => self.queue_wait_ms = Some(value),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "group" | "outcome" => {
                let text = format!("{value:?}");
                self.record_str(field, text.trim_matches('"'));
            }
            _ => {}
        }
    }
}

impl<S> Layer<S> for BatchHistogramLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != "loader.batch" {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let mut fields = BatchFields::default();
        attrs.record(&mut fields);
        span.extensions_mut().insert(OpenBatch {
            fields,
            opened: Instant::now(),
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        if let Some(open) = span.extensions_mut().get_mut::<OpenBatch>() {
            values.record(&mut open.fields);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(open) = span.extensions_mut().remove::<OpenBatch>() else {
            return;
        };
        let group = open.fields.group.unwrap_or_else(|| "unknown".to_owned());
        let outcome = open.fields.outcome.unwrap_or_else(|| "unknown".to_owned());
        let h = &self.histograms;
        h.duration
            .get_or_create(&OutcomeLabels {
                group: group.clone(),
                outcome,
            })
            .observe(open.opened.elapsed().as_secs_f64());
        let labels = GroupLabels { group };
        if let Some(size) = open.fields.batch_size {
            h.keys.get_or_create(&labels).observe(size);
        }
        if let Some(wait) = open.fields.queue_wait_ms {
            h.queue_wait.get_or_create(&labels).observe(wait / 1000.0);
        }
    }
}
