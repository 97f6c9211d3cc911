use loader_core::{
    Snapshot,
    metrics::{GroupSnapshot, Percentiles},
};
use prometheus_client::{collector::Collector, encoding::DescriptorEncoder, metrics::MetricType};

/// The engine's state at scrape time, as Prometheus gauges and counters.
///
/// Built from one [`Snapshot`] per scrape, so every number of a scrape is consistent.
#[derive(Debug)]
pub(crate) struct LoaderCollector {
    snapshot: Snapshot,
}

impl LoaderCollector {
    pub(crate) fn new(snapshot: Snapshot) -> Self {
        Self { snapshot }
    }
}

/// `(label value, quantile)` pairs exported for each percentile set.
fn quantiles(p: &Percentiles) -> [(&'static str, f64); 4] {
    [
        ("0.5", p.p50),
        ("0.9", p.p90),
        ("0.99", p.p99),
        ("1", p.max),
    ]
}

impl Collector for LoaderCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let s = &self.snapshot;
        let engine_gauges: [(&str, &str, f64); 9] = [
            (
                "loader_concurrency_limit",
                "Current concurrency limit: batch calls allowed to run at once against the downstream",
                s.limit as f64,
            ),
            (
                "loader_in_flight_batches",
                "Batch calls executing now, all query groups",
                s.in_flight as f64,
            ),
            (
                "loader_queued_loads",
                "Loads waiting to be dispatched, all query groups",
                s.queued as f64,
            ),
            (
                "loader_local_load_ratio",
                "Busy ratio of this process's Tokio workers (0..1), an input of the scaler",
                s.local_load,
            ),
            (
                "loader_overloaded",
                "1 while an open-loop overload is on (new work admitted only when it can start at once, the rest refused as OVERLOADED), else 0",
                f64::from(u8::from(s.overloaded)),
            ),
            (
                "loader_requests_in_flight",
                "Requests admitted at the door and not ended yet",
                s.requests_in_flight as f64,
            ),
            (
                "loader_requests_waiting",
                "Requests waiting at the door for a place",
                s.requests_waiting as f64,
            ),
            (
                "loader_request_cap",
                "Requests the door admits at once (its law's cap)",
                s.request_cap as f64,
            ),
            (
                "loader_metrics_window_seconds",
                "The sliding window the loader_group_* rates, ratios, quantiles and window counts cover",
                s.window_s,
            ),
        ];
        for (name, help, value) in engine_gauges {
            encoder
                .encode_descriptor(name, help, None, MetricType::Gauge)?
                .encode_gauge(&value)?;
        }
        encoder
            .encode_descriptor(
                "loader_requests_refused",
                "Requests refused at the door (OVERLOADED before they ran) since the start",
                None,
                MetricType::Counter,
            )?
            .encode_counter::<prometheus_client::encoding::NoLabelSet, _, u64>(
                &s.requests_refused,
                None,
            )?;
        encoder
            .encode_descriptor(
                "loader_overloads",
                "Open-loop overloads seen since the start (arrivals outpacing answers while the queue grew)",
                None,
                MetricType::Counter,
            )?
            .encode_counter::<prometheus_client::encoding::NoLabelSet, _, u64>(
                &s.overloads,
                None,
            )?;
        {
            let mut info = encoder.encode_descriptor(
                "loader_strategy",
                "The scaling strategy in use (label `strategy`), always 1",
                None,
                MetricType::Gauge,
            )?;
            info.encode_family(&[("strategy", s.strategy.as_str())])?
                .encode_gauge(&1i64)?;
        }

        type GaugeOf = fn(&GroupSnapshot) -> f64;
        let group_gauges: [(&str, &str, GaugeOf); 9] = [
            (
                "loader_group_in_flight_batches",
                "Batch calls of this query group executing now",
                |g| g.in_flight as f64,
            ),
            (
                "loader_group_queued_loads",
                "Loads of this query group waiting to be dispatched",
                |g| g.queued as f64,
            ),
            (
                "loader_group_loads_per_second",
                "Loads (resolver calls) per second over the metrics window",
                |g| g.loads_per_s,
            ),
            (
                "loader_group_keys_per_second",
                "Distinct keys sent to the downstream per second over the metrics window",
                |g| g.keys_per_s,
            ),
            (
                "loader_group_batches_per_second",
                "Batch calls per second over the metrics window",
                |g| g.batches_per_s,
            ),
            (
                "loader_group_error_ratio",
                "Fraction of batch calls that failed over the metrics window (0..1)",
                |g| g.error_rate,
            ),
            (
                "loader_group_target_batch_size",
                "Batch size the engine currently aims for",
                |g| g.target_batch_size as f64,
            ),
            (
                "loader_group_cost_fixed_seconds",
                "Learned fixed cost of one batch call",
                |g| g.cost.fixed_ms / 1000.0,
            ),
            (
                "loader_group_cost_per_key_seconds",
                "Learned cost of each key in a batch call",
                |g| g.cost.per_key_ms / 1000.0,
            ),
        ];
        for (name, help, value_of) in group_gauges {
            let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for (group, g) in &s.groups {
                metric
                    .encode_family(&[("group", group.as_str())])?
                    .encode_gauge(&value_of(g))?;
            }
        }

        type PercentilesOf = fn(&GroupSnapshot) -> (&Percentiles, f64);
        let group_quantiles: [(&str, &str, PercentilesOf); 3] = [
            (
                "loader_group_batch_latency_seconds",
                "Batch call latency quantiles over the metrics window (quantile 1 = max)",
                |g| (&g.latency_ms, 1000.0),
            ),
            (
                "loader_group_queue_wait_seconds",
                "Queue wait quantiles of loads over the metrics window (quantile 1 = max)",
                |g| (&g.queue_wait_ms, 1000.0),
            ),
            (
                "loader_group_batch_size",
                "Keys per batch call, quantiles over the metrics window (quantile 1 = max)",
                |g| (&g.batch_size, 1.0),
            ),
        ];
        for (name, help, percentiles_of) in group_quantiles {
            let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for (group, g) in &s.groups {
                let (p, divisor) = percentiles_of(g);
                for (quantile, value) in quantiles(p) {
                    metric
                        .encode_family(&[("group", group.as_str()), ("quantile", quantile)])?
                        .encode_gauge(&(value / divisor))?;
                }
            }
        }

        type CountOf = fn(&GroupSnapshot) -> u64;
        let window_counts: [(&str, &str, CountOf); 5] = [
            (
                "loader_group_window_batches",
                "Batch calls made in the metrics window (a gauge: the window slides)",
                |g| g.batches,
            ),
            (
                "loader_group_window_errors",
                "Batch calls that returned an error in the metrics window",
                |g| g.errors,
            ),
            (
                "loader_group_window_shed",
                "Loads refused with Overloaded in the metrics window",
                |g| g.shed,
            ),
            (
                "loader_group_window_timeouts",
                "Batch calls cut by the batch timeout in the metrics window",
                |g| g.timeouts,
            ),
            (
                "loader_group_window_panics",
                "Batch calls that panicked in the metrics window",
                |g| g.panics,
            ),
        ];
        for (name, help, count_of) in window_counts {
            let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for (group, g) in &s.groups {
                metric
                    .encode_family(&[("group", group.as_str())])?
                    .encode_gauge(&count_of(g))?;
            }
        }
        Ok(())
    }
}
