//! The dashboard routes in-process: the page, its script, and the history JSON sampled by
//! the background task (under paused Tokio time, so sampling is deterministic).

use std::{collections::HashMap, convert::Infallible, time::Duration};

use axum::{Router, body::Body, http::Request, http::StatusCode, http::header};
use loader_core::{BatchFn, Engine, QueryGroup};
use observability::dashboard::Dashboard;
use tower::ServiceExt;

struct Doubles;

impl BatchFn for Doubles {
    type Key = u32;
    type Value = u32;
    type Error = Infallible;

    fn group(&self) -> QueryGroup {
        QueryGroup::new("doubles")
    }

    async fn load(&self, keys: &[u32]) -> Result<HashMap<u32, u32>, Infallible> {
        Ok(keys.iter().map(|k| (*k, k * 2)).collect())
    }
}

async fn get(app: &Router, uri: &str) -> (StatusCode, String, String) {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        content_type,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

#[tokio::test]
async fn page_and_script_are_served_self_contained() {
    let engine = Engine::builder().build().unwrap();
    let app: Router = Dashboard::new().router(engine);
    let (status, content_type, page) = get(&app, "/dashboard").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(page.contains(r#"<script src="dashboard/app.js">"#));
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no CDN"
    );

    let (status, content_type, script) = get(&app, "/dashboard/app.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        content_type.starts_with("text/javascript"),
        "{content_type}"
    );
    assert!(script.contains("/data"));
}

#[tokio::test(start_paused = true)]
async fn history_is_sampled_every_interval_and_polled_incrementally() {
    let engine = Engine::builder().build().unwrap();
    let loader = engine.loader(Doubles);
    assert_eq!(loader.load(21).await.unwrap(), Some(42));

    let app: Router = Dashboard::new()
        .sample_interval(Duration::from_secs(1))
        .history_len(3)
        .router(engine);
    // The first tick fires at once, then one per second: 5 samples, 3 kept.
    tokio::time::sleep(Duration::from_millis(4_500)).await;

    let (status, content_type, body) = get(&app, "/dashboard/data").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("application/json"));
    let data: serde_json::Value = serde_json::from_str(&body).unwrap();
    let points = data["points"].as_array().unwrap();
    let seqs: Vec<u64> = points.iter().map(|p| p["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [3, 4, 5], "the newest 3 of 5 samples");
    assert_eq!(data["capacity"], 3);
    assert_eq!(data["interval_ms"], 1000);
    assert!(points[2]["groups"]["doubles"].is_object(), "{body}");
    assert!(data["snapshot"]["groups"]["doubles"].is_object());
    assert!(data["snapshot"]["limit"].as_u64().unwrap() >= 1);

    let (_, _, newer) = get(&app, "/dashboard/data?since=4").await;
    let newer: serde_json::Value = serde_json::from_str(&newer).unwrap();
    let seqs: Vec<u64> = newer["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [5]);
}
