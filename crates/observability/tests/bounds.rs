//! The public handles can cross threads and live in shared application state.

use observability::{
    TelemetryError,
    dashboard::{Dashboard, SnapshotHistory},
    metrics::{BatchHistogramLayer, HttpMetricsLayer, Metrics},
    telemetry::{HttpTraceLayer, TelemetryConfig, TelemetryGuard},
    test_collector::TestCollector,
};

fn send_sync<T: Send + Sync>() {}

#[test]
fn public_types_are_send_and_sync() {
    send_sync::<TelemetryGuard>();
    send_sync::<TelemetryConfig>();
    send_sync::<TelemetryError>();
    send_sync::<HttpTraceLayer>();
    send_sync::<HttpMetricsLayer>();
    send_sync::<BatchHistogramLayer>();
    send_sync::<Metrics>();
    send_sync::<Dashboard>();
    send_sync::<SnapshotHistory>();
    send_sync::<TestCollector>();
}
