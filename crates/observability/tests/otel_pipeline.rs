//! The whole trace pipeline, end to end: `telemetry::init_with` exports over real OTLP/gRPC
//! to an in-process collector; a real axum request through `HttpTraceLayer` carries a W3C
//! `traceparent`; a real loader-core `Engine` runs one batch for two waiting "resolver"
//! spans. One test per binary: it installs the global subscriber.

use std::{collections::HashMap, convert::Infallible, time::Duration};

use axum::{Router, body::Body, extract::State, http::Request, routing::get};
use loader_core::{BatchFn, Engine, QueryGroup};
use observability::{
    telemetry::{self, HttpTraceLayer, OtlpExport, OtlpProtocol, TelemetryConfig},
    test_collector::{ReceivedSpan, SpanKind, StatusCode, TestCollector},
};
use tower::ServiceExt;
use tracing::Instrument;

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

struct Squares;

impl BatchFn for Squares {
    type Key = u64;
    type Value = u64;
    type Error = Infallible;

    fn group(&self) -> QueryGroup {
        QueryGroup::new("squares")
    }

    async fn load(&self, keys: &[u64]) -> Result<HashMap<u64, u64>, Infallible> {
        tracing::info!(keys = keys.len(), "computing squares");
        Ok(keys.iter().map(|k| (*k, k * k)).collect())
    }
}

/// Two resolvers of one request load through one loader, concurrently, each in its span.
async fn two_resolvers(State(engine): State<Engine>) -> String {
    let loader = engine.loader(Squares);
    let resolve = |key: u64| {
        let loader = loader.clone();
        async move { loader.load(key).await.unwrap().unwrap() }
            .instrument(tracing::info_span!("resolver", key))
    };
    let (a, b) = tokio::join!(resolve(3), resolve(4));
    format!("{a} {b}")
}

fn by_name<'a>(spans: &'a [ReceivedSpan], name: &str) -> Vec<&'a ReceivedSpan> {
    spans.iter().filter(|s| s.name() == name).collect()
}

// Current-thread runtime: both resolvers register their keys in the same poll, before the
// batch task can run, so they deterministically share one batch. The blocking flush and
// shutdown of the exporter therefore run on `spawn_blocking`, leaving the runtime free to
// drive the gRPC connection.
#[tokio::test]
async fn request_trace_continues_the_caller_and_batch_span_links_every_waiting_resolver() {
    let collector = TestCollector::start().await.expect("collector listens");
    let export = OtlpExport::from_env()
        .endpoint(collector.endpoint())
        .protocol(OtlpProtocol::Grpc);
    let guard = telemetry::init_with(
        TelemetryConfig::new("otel-pipeline-test")
            .log_filter("warn")
            .otlp(Some(export)),
    )
    .expect("telemetry installs");
    assert!(guard.is_exporting());

    let engine = Engine::builder()
        .batch_delay(Duration::from_millis(20))
        .build()
        .expect("valid engine config");
    let app = Router::new()
        .route("/squares", get(two_resolvers))
        .route(
            "/fail",
            get(|| async { axum::http::StatusCode::SERVICE_UNAVAILABLE }),
        )
        .with_state(engine)
        .layer(HttpTraceLayer::new());

    let failed = app
        .clone()
        .oneshot(Request::get("/fail").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(failed.status(), 503);
    let response = app
        .oneshot(
            Request::get("/squares?x=1")
                .header("traceparent", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = axum::body::to_bytes(response.into_body(), 1024)
        .await
        .unwrap();
    assert_eq!(&body[..], b"9 16");

    let guard = tokio::task::spawn_blocking(move || {
        guard.flush().expect("spans exported");
        guard
    })
    .await
    .unwrap();
    let spans = collector
        .wait_for(Duration::from_secs(20), |spans| {
            by_name(spans, "http.request").len() == 2
                && by_name(spans, "resolver").len() == 2
                && !by_name(spans, "loader.batch").is_empty()
        })
        .await
        .unwrap_or_else(|| panic!("spans missing; got {:#?}", collector.spans()));

    // The HTTP span continues the caller's trace, as a server span with HTTP attributes.
    let (ok, failed): (Vec<&ReceivedSpan>, Vec<&ReceivedSpan>) = by_name(&spans, "http.request")
        .into_iter()
        .partition(|s| s.attribute("url.path").as_deref() == Some("/squares"));
    let http = ok[0];
    assert_eq!(http.service_name.as_deref(), Some("otel-pipeline-test"));
    assert_eq!(http.trace_id(), CALLER_TRACE);
    assert_eq!(http.parent_span_id().as_deref(), Some(CALLER_SPAN));
    assert_eq!(http.kind(), SpanKind::Server);
    assert_eq!(
        http.attribute("http.request.method").as_deref(),
        Some("GET")
    );
    assert_eq!(http.attribute("url.path").as_deref(), Some("/squares"));
    assert_eq!(http.attribute("url.query").as_deref(), Some("x=1"));
    assert_eq!(http.attribute("http.route").as_deref(), Some("/squares"));
    assert_eq!(
        http.attribute("http.response.status_code").as_deref(),
        Some("200")
    );

    // A 5xx answer marks its span as failed; a span without traceparent starts a new trace.
    let failed = failed[0];
    assert_eq!(
        failed.attribute("http.response.status_code").as_deref(),
        Some("503")
    );
    assert_eq!(failed.status(), StatusCode::Error);
    assert_ne!(failed.trace_id(), CALLER_TRACE);
    assert_eq!(failed.parent_span_id(), None);
    assert_ne!(http.status(), StatusCode::Error);

    // The resolvers are children of the HTTP span, in the caller's trace.
    let resolvers = by_name(&spans, "resolver");
    for resolver in &resolvers {
        assert_eq!(resolver.trace_id(), CALLER_TRACE);
        assert_eq!(resolver.parent_span_id(), Some(http.span_id()));
    }

    // One batch served both keys: the child of the resolver that opened it, linked to the
    // other one (a link to its own parent would be redundant, and Jaeger would fold it into
    // the parent reference).
    let batches = by_name(&spans, "loader.batch");
    assert_eq!(batches.len(), 1, "both keys coalesce into one batch");
    let batch = batches[0];
    assert_eq!(batch.trace_id(), CALLER_TRACE, "in the opener's trace");
    let parent = batch.parent_span_id().expect("the batch has a parent");
    let mut waiters: Vec<(String, String)> = batch.links();
    assert_eq!(waiters.len(), 1, "{waiters:?}");
    assert!(
        waiters.iter().all(|(_, span)| *span != parent),
        "no link to the parent"
    );
    waiters.push((batch.trace_id(), parent));
    waiters.sort();
    let mut expected: Vec<(String, String)> = resolvers
        .iter()
        .map(|r| (r.trace_id(), r.span_id()))
        .collect();
    expected.sort();
    assert_eq!(
        waiters, expected,
        "parent + links = the resolvers that waited"
    );
    assert_eq!(batch.attribute("group").as_deref(), Some("squares"));
    assert_eq!(batch.attribute("batch_size").as_deref(), Some("2"));
    assert_eq!(batch.attribute("keys_requested").as_deref(), Some("2"));
    assert_eq!(batch.attribute("keys_deduplicated").as_deref(), Some("0"));
    assert_eq!(batch.attribute("outcome").as_deref(), Some("success"));
    for field in ["queue_wait_ms", "limit", "in_flight"] {
        assert!(
            batch.attribute(field).is_some(),
            "loader.batch lacks {field}"
        );
    }

    // Events inside the batch call become span events of the batch span.
    let events = batch.events();
    assert!(
        events.iter().any(|(name, _)| name == "computing squares"),
        "{events:?}"
    );

    // The batch histograms of /metrics saw the same batch, through the same subscriber.
    let metrics = observability::metrics::Metrics::global().render_instruments();
    assert!(
        metrics.contains(r#"loader_batch_keys_sum{group="squares"} 2"#),
        "{metrics}"
    );
    tokio::task::spawn_blocking(move || drop(guard))
        .await
        .unwrap();
}
