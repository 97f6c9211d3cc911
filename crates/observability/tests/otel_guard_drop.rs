//! Dropping the `TelemetryGuard` exports the spans still buffered in the batch processor.
//! One test per binary: it installs the global subscriber.

use std::time::Duration;

use observability::{
    telemetry::{self, OtlpExport, OtlpProtocol, TelemetryConfig},
    test_collector::TestCollector,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_guard_exports_buffered_spans() {
    let collector = TestCollector::start().await.expect("collector listens");
    let guard = telemetry::init_with(
        TelemetryConfig::new("guard-test")
            .log_filter("off")
            .otlp(Some(
                OtlpExport::from_env()
                    .endpoint(collector.endpoint())
                    .protocol(OtlpProtocol::Grpc),
            )),
    )
    .expect("telemetry installs");
    tracing::info_span!("last.words", shutdown = true).in_scope(|| {
        tracing::info!("about to stop");
    });
    // The batch processor exports every 5 s by default: only the shutdown can have sent it.
    drop(guard);
    let spans = collector
        .wait_for(Duration::from_secs(3), |spans| {
            spans.iter().any(|s| s.name() == "last.words")
        })
        .await
        .expect("the span was exported on drop");
    let span = spans.iter().find(|s| s.name() == "last.words").unwrap();
    assert_eq!(span.service_name.as_deref(), Some("guard-test"));
    assert_eq!(span.attribute("shutdown").as_deref(), Some("true"));
    assert_eq!(span.events().len(), 1);
}
