//! Graceful shutdown: a stop signal lets the request in flight finish.

use std::time::Duration;

use server::seed::SeedPlan;

use crate::app::{Backend, TestApp, spawn_app};

/// Sends `user(id: 1)` while the test holds a lock on `users`, and returns once its loader
/// batch is blocked on the lock (the request is in flight).
async fn request_blocked_on_the_lock(
    app: &TestApp,
) -> tokio::task::JoinHandle<reqwest::Result<reqwest::Response>> {
    let client = app.client.clone();
    let url = format!("http://{}/graphql", app.addr);
    let request = tokio::spawn(async move {
        client
            .post(url)
            .json(&serde_json::json!({ "query": "{ user(id: \"1\") { id } }" }))
            .send()
            .await
    });
    let engine = app.state.engine.clone();
    tokio::time::timeout(Duration::from_secs(10), async {
        while engine.in_flight() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the request reaches the database");
    request
}

/// On PostgreSQL a lock held by the test keeps a loader batch in flight on purpose.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_signal_lets_the_request_in_flight_finish() {
    let Some(mut app) = spawn_app(
        Backend::Postgres,
        SeedPlan::small(9),
        "shutdown::stop_signal_lets_the_request_in_flight_finish",
    )
    .await
    else {
        return;
    };
    let lock = app.lock_table("users").await;

    let request = request_blocked_on_the_lock(&app).await;

    let (stop, server) = app.take_server();
    stop.send(()).unwrap();
    assert!(
        !server.is_finished(),
        "the server waits for the request in flight"
    );

    lock.release().await;
    let body = request
        .await
        .unwrap()
        .expect("the in-flight request is answered")
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(body["data"]["user"]["id"], "1", "{body}");
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server exits once the request is done")
        .unwrap()
        .unwrap();
}

/// A request that cannot finish does not keep the process alive past the grace period.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_gives_up_on_a_stuck_request_after_the_grace_period() {
    let Some(mut app) = crate::app::spawn_app_with(
        Backend::Postgres,
        SeedPlan::small(12),
        "shutdown::stop_gives_up_on_a_stuck_request_after_the_grace_period",
        |s| {
            s.limits.shutdown_grace_ms = 200;
            s.limits.request_timeout_ms = 60_000;
        },
    )
    .await
    else {
        return;
    };
    let lock = app.lock_table("users").await;
    let request = request_blocked_on_the_lock(&app).await;

    let (stop, server) = app.take_server();
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server exits after the grace period although the lock is held")
        .unwrap()
        .unwrap();
    lock.release().await;
    request.abort();
}
