//! `telemetry::init` reads the standard OpenTelemetry variables: this test runs the
//! `child_*` test of this same binary in a child process with `OTEL_*` set (setting the
//! environment in-process would be `unsafe`), and receives its spans.

use std::time::Duration;

use observability::{telemetry, test_collector::TestCollector};

const CHILD_MARKER: &str = "OBSERVABILITY_OTEL_FROM_ENV_CHILD";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_exports_to_the_endpoint_protocol_and_service_named_by_the_environment() {
    let collector = TestCollector::start().await.expect("collector listens");
    let child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_installs_telemetry_from_env",
            "--ignored",
            "--test-threads=1",
        ])
        .env(CHILD_MARKER, "1")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint())
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        .env("OTEL_SERVICE_NAME", "named-by-env")
        .env("RUST_LOG", "off")
        .kill_on_drop(true)
        .output()
        .await
        .expect("the child runs");
    assert!(
        child.status.success(),
        "the child test failed: {}\n{}{}",
        child.status,
        String::from_utf8_lossy(&child.stdout),
        String::from_utf8_lossy(&child.stderr)
    );
    let spans = collector
        .wait_for(Duration::from_secs(10), |spans| {
            spans.iter().any(|s| s.name() == "child.work")
        })
        .await
        .expect("the child's span arrived");
    let span = spans.iter().find(|s| s.name() == "child.work").unwrap();
    assert_eq!(span.service_name.as_deref(), Some("named-by-env"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the child half of the test above; does nothing unless run by it"]
async fn child_installs_telemetry_from_env() {
    if std::env::var_os(CHILD_MARKER).is_none() {
        return;
    }
    let guard = telemetry::init("default-name").expect("telemetry installs");
    assert!(guard.is_exporting());
    tracing::info_span!("child.work").in_scope(|| tracing::info!("working"));
    drop(guard); // shutting down exports the span
}
