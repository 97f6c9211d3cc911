//! One GraphQL request through the real server router, traced over real OTLP/gRPC into the
//! in-process collector (`observability::test_collector`): the span tree from the caller's
//! `traceparent` down to SQL, the batch links and the attributes. One test per binary: it
//! installs the global subscriber.

use std::{collections::HashSet, time::Duration};

use axum::{
    body::Body,
    http::{Request, header},
};
use observability::{
    telemetry::{self, OtlpExport, OtlpProtocol, TelemetryConfig},
    test_collector::{ReceivedSpan, SpanKind, TestCollector},
};
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

fn named<'a>(spans: &'a [ReceivedSpan], name: &str) -> Vec<&'a ReceivedSpan> {
    spans.iter().filter(|s| s.name() == name).collect()
}

fn complete(spans: &[ReceivedSpan]) -> bool {
    [
        "http.request",
        "request",
        "execute",
        "loader.batch",
        "db.query",
    ]
    .iter()
    .all(|name| !named(spans, name).is_empty())
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
        .wait_for(Duration::from_secs(20), complete)
        .await
        .unwrap_or_else(|| {
            let names: Vec<String> = collector
                .spans()
                .iter()
                .map(|s| s.name().to_owned())
                .collect();
            panic!("the span tree is incomplete; received {names:?}")
        });

    // HTTP span: continues the caller's trace, server kind, semantic-convention attributes.
    let http = named(&spans, "http.request");
    assert_eq!(http.len(), 1);
    let http = http[0];
    assert_eq!(http.trace_id(), CALLER_TRACE);
    assert_eq!(http.parent_span_id().as_deref(), Some(CALLER_SPAN));
    assert_eq!(http.kind(), SpanKind::Server);
    assert_eq!(
        http.attribute("http.request.method").as_deref(),
        Some("POST")
    );
    assert_eq!(http.attribute("http.route").as_deref(), Some("/graphql"));
    assert_eq!(
        http.attribute("http.response.status_code").as_deref(),
        Some("200")
    );

    // GraphQL operation spans hang under the HTTP span, in the caller's trace.
    let request = named(&spans, "request");
    assert_eq!(request.len(), 1);
    assert_eq!(request[0].parent_span_id(), Some(http.span_id()));
    for name in ["parse", "validation", "execute"] {
        let span = named(&spans, name);
        assert_eq!(span.len(), 1, "{name}");
        assert_eq!(span[0].trace_id(), CALLER_TRACE, "{name}");
    }
    let fields: Vec<&ReceivedSpan> = named(&spans, "field")
        .into_iter()
        .filter(|f| f.trace_id() == CALLER_TRACE)
        .collect();
    let field_ids: HashSet<String> = fields.iter().map(|f| f.span_id()).collect();
    let posts_fields: HashSet<String> = fields
        .iter()
        .filter(|f| {
            f.attribute("path")
                .is_some_and(|p| p.starts_with("users.") && p.ends_with(".posts"))
        })
        .map(|f| f.span_id())
        .collect();
    assert_eq!(posts_fields.len(), 3, "one `posts` field span per user");

    // Batches: each links to the field spans that waited on it; together the batches
    // serving `posts` link every `users.N.posts` field span.
    let batches = named(&spans, "loader.batch");
    let mut linked_fields = HashSet::new();
    for batch in &batches {
        assert!(!batch.links().is_empty(), "a batch without waiters");
        for field in [
            "group",
            "batch_size",
            "keys_deduplicated",
            "queue_wait_ms",
            "limit",
            "in_flight",
            "outcome",
        ] {
            assert!(
                batch.attribute(field).is_some(),
                "loader.batch lacks {field}"
            );
        }
        assert_eq!(batch.attribute("outcome").as_deref(), Some("success"));
        for (trace, span) in batch.links() {
            if trace == CALLER_TRACE {
                assert!(field_ids.contains(&span), "links point at field spans");
                linked_fields.insert(span);
            }
        }
    }
    assert!(
        posts_fields.is_subset(&linked_fields),
        "every posts resolver is linked from a batch"
    );

    // SQL: one db.query child of a batch per statement, parameter-free.
    let batch_ids: HashSet<String> = batches.iter().map(|b| b.span_id()).collect();
    let queries = named(&spans, "db.query");
    for query in &queries {
        let parent = query.parent_span_id().expect("db.query has a parent");
        if !batch_ids.contains(&parent) {
            continue; // e.g. the root `users` list query, outside any batch
        }
        assert_eq!(query.attribute("db.system").as_deref(), Some("sqlite"));
        let statement = query.attribute("db.statement").expect("db.statement");
        assert!(statement.contains("SELECT"), "{statement}");
        assert!(
            statement.contains('?') || statement.contains("$1"),
            "placeholders, not values: {statement}"
        );
    }
    assert!(
        queries
            .iter()
            .any(|q| q.parent_span_id().is_some_and(|p| batch_ids.contains(&p))),
        "batches run their SQL inside db.query spans"
    );

    tokio::task::spawn_blocking(move || drop(guard))
        .await
        .unwrap();
}
