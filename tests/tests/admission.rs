//! Admission at the door: a request is served whole or refused whole.
//!
//! - With every place at the door taken, a new request is refused with `503 OVERLOADED` and
//!   `Retry-After` before it runs (a mutation writes nothing), and it is served again as soon
//!   as a place is free. The door is filled deterministically, without timing: the test holds
//!   the places itself (`Engine::admit_request`).
//! - Many concurrent heavy nested requests against a small engine (one permit, a tiny load
//!   queue, four places at the door): every response is either complete (`200`, data, no
//!   errors) or a `503` with `Retry-After` and no data. Never data with holes. Nothing leaks.

mod faults_common;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use faults_common::{RunningServer, Seen, drained, post_graphql, post_graphql_as, row_counts};
use loader_core::limit::StrategyKind;
use serde_json::json;
use server::{config::Settings, graphql::LoaderMode, seed};

/// The README's nested query: about 2 800 objects on the full data set.
const HEAVY: &str = "{ users(first: 50) { name posts(first: 10) { title comments(first: 5) { author { name } } tags { name } } } }";

fn assert_refused_whole(seen: &Seen) {
    assert_eq!(seen.status, Some(503), "{:?}", seen.json);
    assert_eq!(
        seen.codes(),
        vec!["OVERLOADED".to_string()],
        "{:?}",
        seen.json
    );
    let retry = seen.json.pointer("/errors/0/extensions/retryAfterMs");
    assert!(retry.and_then(|v| v.as_u64()).is_some_and(|ms| ms > 0));
    assert!(
        seen.retry_after
            .as_deref()
            .and_then(|s| s.parse::<u64>().ok())
            .is_some_and(|s| s >= 1),
        "Retry-After in whole seconds: {:?}",
        seen.retry_after
    );
    assert!(
        seen.json.get("data").is_none(),
        "nothing ran: {:?}",
        seen.json
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_door_refuses_new_requests_before_they_run_and_serves_them_again_after() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_database(test_support::sqlite_url(dir.path()));
    settings.loader_mode = LoaderMode::EngineWith(StrategyKind::Fixed(Some(1)));
    settings.loader.loader_max_requests = 2;
    settings.loader.loader_max_requests_waiting = 0;
    let server = RunningServer::start(settings, seed::SeedPlan::small(42)).await;
    let engine = server.engine().clone();

    // Fill the door: both places held by requests that do not end.
    let held = vec![
        engine.admit_request().await.unwrap(),
        engine.admit_request().await.unwrap(),
    ];
    assert_eq!(engine.snapshot().requests_in_flight, 2);

    let client = reqwest::Client::new();
    let url = server.url("/graphql");
    let origin = Instant::now();
    let before = row_counts(server.db()).await;
    let read = post_graphql(
        &client,
        &url,
        "{ users(first: 3) { name posts(first: 2) { title } } }",
        json!({}),
        origin,
    )
    .await;
    let token = server.token(1);
    let write = post_graphql_as(
        &client,
        &url,
        Some(&token),
        r#"mutation { createUser(input: { name: "refused", email: "refused@example.com" }) { id } }"#,
        json!({}),
        origin,
    )
    .await;
    for seen in [&read, &write] {
        assert_refused_whole(seen);
    }
    assert_eq!(
        row_counts(server.db()).await,
        before,
        "the refused mutation wrote nothing"
    );
    assert_eq!(engine.snapshot().requests_refused, 2);

    // A place comes free: the same query is served.
    drop(held);
    let again = post_graphql(
        &client,
        &url,
        "{ users(first: 2) { name posts(first: 2) { title } } }",
        json!({}),
        origin,
    )
    .await;
    assert_eq!(again.status, Some(200), "{:?}", again.json);
    assert!(again.ok(), "{:?}", again.json);
    drained(&engine, Duration::from_secs(5))
        .await
        .expect("no permit or queue slot leaked");
    assert_eq!(engine.snapshot().requests_in_flight, 0);
    println!(
        "[admission] refused 2 requests at the door (503 OVERLOADED, retryAfterMs {}), served the same query after",
        read.json
            .pointer("/errors/0/extensions/retryAfterMs")
            .unwrap()
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heavy_nested_requests_under_overload_are_complete_or_refused_never_partial() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_database(test_support::sqlite_url(dir.path()));
    settings.loader_mode = LoaderMode::EngineWith(StrategyKind::Fixed(Some(1)));
    settings.loader.loader_queue_capacity = 2; // bounds standalone loads; a request's are never refused
    settings.loader.loader_max_requests = 4;
    settings.loader.loader_max_requests_waiting = 4;
    settings.loader.loader_max_queue_wait_ms = 200;
    let server = RunningServer::start(settings, faults_common::medium_plan()).await;
    let engine = server.engine().clone();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let url = Arc::new(server.url("/graphql"));
    let origin = Instant::now();

    // 48 clients, 6 heavy requests each, all at once.
    let clients: Vec<_> = (0..48)
        .map(|_| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move {
                let mut seen = Vec::new();
                for _ in 0..6 {
                    seen.push(post_graphql(&client, &url, HEAVY, json!({}), origin).await);
                }
                seen
            })
        })
        .collect();
    let mut complete = 0;
    let mut refused = 0;
    let mut timed_out = 0;
    for c in clients {
        for seen in c.await.unwrap() {
            if seen.status == Some(504) {
                // The request's own deadline passed (a slow debug build on a busy machine):
                // a whole timeout, no data.
                assert_eq!(seen.codes(), vec!["TIMEOUT".to_string()], "{:?}", seen.json);
                assert!(seen.json.get("data").is_none(), "{:?}", seen.json);
                timed_out += 1;
            } else if seen.status == Some(200) {
                assert!(
                    seen.ok(),
                    "a 200 must be complete, never data with holes: {}",
                    seen.json.to_string().chars().take(500).collect::<String>()
                );
                let users = seen.json.pointer("/data/users").and_then(|u| u.as_array());
                assert_eq!(users.map(Vec::len), Some(50));
                complete += 1;
            } else {
                assert_refused_whole(&seen);
                refused += 1;
            }
        }
    }
    println!(
        "[admission] 288 heavy requests from 48 clients at a door of 4 places: {complete} complete, {refused} refused whole, {timed_out} timed out whole, none partial"
    );
    assert!(complete > 0, "some requests were served");
    assert!(
        refused > 0,
        "48 clients are more than 4 places and 4 waiting"
    );

    drained(&engine, Duration::from_secs(5))
        .await
        .expect("no permit or queue slot leaked");
    let snapshot = engine.snapshot();
    assert_eq!(
        (snapshot.requests_in_flight, snapshot.requests_waiting),
        (0, 0),
        "no place at the door leaked"
    );
    assert_eq!(snapshot.requests_refused, refused);
    server.stop().await;
}
