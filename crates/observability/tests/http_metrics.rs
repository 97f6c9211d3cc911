//! The HTTP metrics layer counts requests by method, matched route and status.

use axum::{Router, body::Body, http::Request, http::StatusCode, routing::get};
use observability::metrics::Metrics;
use tower::ServiceExt;

fn app(metrics: &Metrics) -> Router {
    Router::new()
        .route("/users/{id}", get(|| async { "user" }))
        .route("/boom", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
        .layer(metrics.http_layer())
}

async fn get_path(app: &Router, path: &str) -> StatusCode {
    app.clone()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap()
        .status()
}

fn line<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.lines().find(|l| l.starts_with(prefix))
}

#[tokio::test]
async fn requests_are_counted_by_matched_route_not_raw_path() {
    let metrics = Metrics::new();
    let app = app(&metrics);
    for id in 1..=3 {
        assert_eq!(
            get_path(&app, &format!("/users/{id}")).await,
            StatusCode::OK
        );
    }
    let text = metrics.render_instruments();
    let counted = line(
        &text,
        r#"http_server_requests_total{method="GET",route="/users/{id}",status="200"}"#,
    )
    .unwrap_or_else(|| panic!("no counter line in\n{text}"));
    assert!(counted.ends_with(" 3"), "{counted}");
    assert!(
        !text.contains("/users/1"),
        "raw paths must not become labels"
    );
}

#[tokio::test]
async fn server_errors_and_unmatched_routes_get_their_own_labels() {
    let metrics = Metrics::new();
    let app = app(&metrics);
    assert_eq!(
        get_path(&app, "/boom").await,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(get_path(&app, "/nope").await, StatusCode::NOT_FOUND);
    let text = metrics.render_instruments();
    assert!(
        line(
            &text,
            r#"http_server_requests_total{method="GET",route="/boom",status="500"} 1"#
        )
        .is_some(),
        "{text}"
    );
    assert!(
        line(
            &text,
            r#"http_server_requests_total{method="GET",route="unmatched",status="404"} 1"#
        )
        .is_some(),
        "{text}"
    );
}

#[tokio::test]
async fn latency_histogram_observes_each_request_and_active_gauge_returns_to_zero() {
    let metrics = Metrics::new();
    let app = app(&metrics);
    get_path(&app, "/users/7").await;
    get_path(&app, "/users/8").await;
    let text = metrics.render_instruments();
    assert!(
        line(
            &text,
            r#"http_server_request_duration_seconds_count{method="GET",route="/users/{id}",status="200"} 2"#
        )
        .is_some(),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/users/{id}",status="200",le="+Inf"} 2"#),
        "{text}"
    );
    assert!(
        line(
            &text,
            r#"http_server_active_requests{method="GET",route="/users/{id}"} 0"#
        )
        .is_some(),
        "{text}"
    );
}
