//! `GET /metrics` renders a real engine's snapshot in the Prometheus text format.

use std::{collections::HashMap, convert::Infallible};

use axum::{Router, body::Body, http::Request, http::header};
use loader_core::{BatchFn, Engine, QueryGroup};
use observability::metrics::{CONTENT_TYPE, Metrics};
use tower::ServiceExt;
use tracing_subscriber::layer::SubscriberExt;

struct Names;

impl BatchFn for Names {
    type Key = u32;
    type Value = String;
    type Error = Infallible;

    fn group(&self) -> QueryGroup {
        QueryGroup::new("users.by_id")
    }

    async fn load(&self, keys: &[u32]) -> Result<HashMap<u32, String>, Infallible> {
        Ok(keys.iter().map(|k| (*k, format!("user {k}"))).collect())
    }
}

fn value(text: &str, series: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .unwrap_or_else(|| panic!("no series {series} in\n{text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn scrape_reports_engine_group_and_batch_histogram_figures() {
    // The current-thread runtime runs the engine's batch task on this thread, so the
    // thread's default subscriber sees its `loader.batch` span.
    let metrics = Metrics::new();
    let _subscriber = tracing::subscriber::set_default(
        tracing_subscriber::registry().with(metrics.batch_layer()),
    );
    let engine = Engine::builder().build().unwrap();
    let loader = engine.loader(Names);
    let found = loader.load_many([1, 2, 3]).await.unwrap();
    assert_eq!(found.len(), 3);

    let app: Router = metrics.router(engine.clone());
    let response = app
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[header::CONTENT_TYPE], CONTENT_TYPE);
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let text = String::from_utf8(body.to_vec()).unwrap();

    assert_eq!(
        value(&text, "loader_concurrency_limit"),
        engine.limit() as f64
    );
    assert_eq!(value(&text, "loader_in_flight_batches"), 0.0);
    assert_eq!(value(&text, "loader_requests_refused_total"), 0.0);
    assert_eq!(value(&text, "loader_overloaded"), 0.0);
    assert_eq!(value(&text, "loader_overloads_total"), 0.0);
    assert_eq!(value(&text, "loader_requests_in_flight"), 0.0);
    assert_eq!(value(&text, "loader_requests_waiting"), 0.0);
    assert_eq!(value(&text, "loader_request_cap"), 16.0);
    let group = r#"{group="users.by_id"}"#;
    assert_eq!(
        value(&text, &format!("loader_group_window_batches{group}")),
        1.0
    );
    assert_eq!(
        value(&text, &format!("loader_group_window_errors{group}")),
        0.0
    );
    assert!(value(&text, &format!("loader_group_loads_per_second{group}")) > 0.0);
    assert_eq!(
        value(
            &text,
            r#"loader_group_batch_size{group="users.by_id",quantile="1"}"#
        ),
        3.0
    );
    for name in [
        "loader_group_batch_latency_seconds",
        "loader_group_queue_wait_seconds",
    ] {
        assert!(text.contains(&format!("# TYPE {name} gauge")), "{name}");
    }
    assert_eq!(
        value(&text, r#"loader_batch_keys_sum{group="users.by_id"}"#),
        3.0
    );
    assert_eq!(
        value(
            &text,
            r#"loader_batch_duration_seconds_count{group="users.by_id",outcome="success"}"#
        ),
        1.0
    );
}
