//! The default OTLP transport, HTTP with protobuf bodies, reaches a collector too.
//! One test per binary: it installs the global subscriber.

use std::time::Duration;

use observability::{
    telemetry::{self, OtlpExport, OtlpProtocol, TelemetryConfig},
    test_collector::TestCollector,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_are_exported_over_http_protobuf() {
    let collector = TestCollector::start().await.expect("collector listens");
    let guard = telemetry::init_with(
        TelemetryConfig::new("http-export-test")
            .log_filter("off")
            .otlp(Some(
                OtlpExport::from_env()
                    .endpoint(collector.http_traces_url())
                    .protocol(OtlpProtocol::HttpProtobuf),
            )),
    )
    .expect("telemetry installs");
    tracing::info_span!("over.http", answer = 42).in_scope(|| {});
    guard.flush().expect("the HTTP export succeeds");
    let spans = collector
        .wait_for(Duration::from_secs(10), |spans| {
            spans.iter().any(|s| s.name() == "over.http")
        })
        .await
        .expect("the span arrived over HTTP");
    let span = spans.iter().find(|s| s.name() == "over.http").unwrap();
    assert_eq!(span.service_name.as_deref(), Some("http-export-test"));
    assert_eq!(span.attribute("answer").as_deref(), Some("42"));
    drop(guard);
}
