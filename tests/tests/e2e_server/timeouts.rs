//! Timeouts: a request stuck behind a database lock is answered at its deadline with a
//! whole `504 TIMEOUT` (never the data that did load with a hole where the rest should be),
//! and the server keeps serving.

use std::time::Duration;

use server::seed::SeedPlan;

use crate::app::{Backend, spawn_app_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relation_stuck_on_a_lock_times_out_the_whole_request() {
    let Some(app) = spawn_app_with(
        Backend::Postgres,
        SeedPlan::small(10),
        "timeouts::relation_stuck_on_a_lock_times_out_the_whole_request",
        |s| s.limits.request_timeout_ms = 300,
    )
    .await
    else {
        return;
    };
    let lock = app.lock_table("comments").await;

    let (status, body) = tokio::time::timeout(
        Duration::from_secs(10),
        app.post(
            "{ post(id: \"1\") { title comments(first: 2) { body } } }",
            serde_json::Value::Null,
        ),
    )
    .await
    .expect("the server answers at the deadline, not when the lock goes");
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "TIMEOUT", "{body}");
    assert!(body.get("data").is_none(), "no partial data: {body}");

    // Tables the lock does not cover are served meanwhile.
    let data = app.data("{ user(id: \"1\") { name } }").await;
    assert!(data["user"]["name"].is_string());

    lock.release().await;
    let data = app
        .data("{ post(id: \"1\") { comments(first: 2) { body } } }")
        .await;
    assert!(data["post"]["comments"].is_array());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_stuck_outside_the_loader_is_answered_504_at_its_deadline() {
    let Some(app) = spawn_app_with(
        Backend::Postgres,
        SeedPlan::small(10),
        "timeouts::request_stuck_outside_the_loader_is_answered_504_at_its_deadline",
        |s| s.limits.request_timeout_ms = 300,
    )
    .await
    else {
        return;
    };
    let lock = app.lock_table("users").await;

    // The root list is one direct query, not a loader batch.
    let (status, body) = tokio::time::timeout(
        Duration::from_secs(10),
        app.post("{ users(first: 1) { id } }", serde_json::Value::Null),
    )
    .await
    .expect("the server answers at the deadline");
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "TIMEOUT", "{body}");
    assert!(body.get("data").is_none());

    lock.release().await;
    app.data("{ users(first: 1) { id } }").await;
    app.stop().await;
}
