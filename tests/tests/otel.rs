//! One GraphQL request through the real server router, traced over real OTLP/gRPC into the
//! in-process collector (`observability::test_collector`): the span tree from the caller's
//! `traceparent` down to SQL, the batch links and the attributes. One test per binary: it
//! installs the global subscriber.

mod request_trace;

use std::time::Duration;

use axum::{
    body::Body,
    http::{Request, header},
};
use observability::{
    telemetry::{self, OtlpExport, OtlpProtocol, TelemetryConfig},
    test_collector::{ReceivedSpan, TestCollector},
};
use request_trace::Expected;
use server::{
    config::Settings,
    database,
    seed::{self, SeedPlan},
    startup,
};
use tower::ServiceExt as _;

const CALLER_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const CALLER_SPAN: &str = "b7ad6b7169203331";
const QUERY: &str =
    "{ users(first: 3) { id name posts(first: 2) { id title author { id name } } } }";

/// The spans of the request's tree (the collector also gets whatever else the process traced).
fn request_spans(spans: &[ReceivedSpan]) -> Vec<ReceivedSpan> {
    const TREE: [&str; 8] = [
        "http.request",
        "request",
        "parse",
        "validation",
        "execute",
        "field",
        "loader.batch",
        "db.query",
    ];
    spans
        .iter()
        .filter(|s| TREE.contains(&s.name()))
        .cloned()
        .collect()
}

// Current-thread runtime; the blocking flush runs on `spawn_blocking` so the runtime can
// drive the exporter's gRPC connection meanwhile.
#[tokio::test]
async fn graphql_request_trace_runs_from_traceparent_to_sql_with_batch_links() {
    let collector = TestCollector::start().await.expect("collector listens");
    let guard = telemetry::init_with(
        TelemetryConfig::new("server-otel-test")
            .log_filter("warn")
            .otlp(Some(
                OtlpExport::from_env()
                    .endpoint(collector.endpoint())
                    .protocol(OtlpProtocol::Grpc),
            )),
    )
    .expect("telemetry installs");

    let dir = tempfile::tempdir().unwrap();
    let settings = Settings::for_database(test_support::sqlite_url(dir.path()));
    let db = database::connect(&settings).await.expect("database opens");
    database::migrate(&db).await.expect("migrations apply");
    seed::run(&db, SeedPlan::small(7), false)
        .await
        .expect("seeding works");
    let state = startup::app_state(settings, db).expect("valid settings");
    let app = server::router(state);

    let body = serde_json::json!({ "query": QUERY }).to_string();
    let response = app
        .oneshot(
            Request::post("/graphql")
                .header(header::CONTENT_TYPE, "application/json")
                .header("traceparent", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01"))
                .body(Body::from(body))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let reply: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert!(reply.get("errors").is_none(), "{reply}");
    assert_eq!(reply["data"]["users"].as_array().unwrap().len(), 3);

    let guard = tokio::task::spawn_blocking(move || {
        guard.flush().expect("spans exported");
        guard
    })
    .await
    .unwrap();
    let spans = collector
        .wait_for(Duration::from_secs(20), |spans| {
            request_trace::has_every_layer(&request_spans(spans))
        })
        .await
        .unwrap_or_else(|| {
            let names: Vec<String> = collector
                .spans()
                .iter()
                .map(|s| s.name().to_owned())
                .collect();
            panic!("the span tree is incomplete; received {names:?}")
        });

    // The same checks as against a real Jaeger (tests/tests/jaeger.rs): one trace from the
    // caller's span down to SQL, the batch links, the attributes.
    let checked = request_trace::check(
        &request_spans(&spans),
        &Expected {
            caller_trace: CALLER_TRACE,
            caller_span: CALLER_SPAN,
            db_system: "sqlite",
            always_batched: &["posts"],
        },
    );
    assert_eq!(
        request_spans(&spans)
            .iter()
            .filter(|f| f.name() == "field")
            .filter(|f| f
                .attribute("path")
                .is_some_and(|p| p.starts_with("users.") && p.ends_with(".posts")))
            .count(),
        3,
        "one `posts` field span per user"
    );
    assert!(checked.linked_fields >= 3, "{checked:?}");
    assert!(
        spans
            .iter()
            .all(|s| s.service_name.as_deref() == Some("server-otel-test")),
        "the service name is on every span"
    );

    tokio::task::spawn_blocking(move || drop(guard))
        .await
        .unwrap();
}
