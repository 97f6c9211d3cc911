//! Admission at the door: when the server's engine is saturated, a new request is refused
//! with `503 OVERLOADED` and `Retry-After` before it runs (a mutation writes nothing), and it
//! is served again as soon as capacity is back.
//!
//! The engine is saturated deterministically, without timing: it runs `fixed:1` with a
//! queue of 2 loads; one gated batch holds the only permit while two more wait, so the queue
//! is full and a new request is refused at the door.

mod faults_common;

use std::{collections::HashMap, convert::Infallible, sync::Arc, time::Duration, time::Instant};

use faults_common::{RunningServer, drained, post_graphql, post_graphql_as, row_counts};
use loader_core::{BatchFn, QueryGroup, limit::StrategyKind};
use serde_json::json;
use server::{config::Settings, graphql::LoaderMode, seed};
use tokio::sync::Semaphore;

/// A batch function that answers once the test lets it (one permit of `gate` per call).
struct Gated {
    name: &'static str,
    gate: Arc<Semaphore>,
}

impl BatchFn for Gated {
    type Key = i64;
    type Value = i64;
    type Error = Infallible;

    fn group(&self) -> QueryGroup {
        QueryGroup::new(self.name)
    }

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, i64>, Infallible> {
        self.gate
            .acquire()
            .await
            .expect("the gate stays open")
            .forget();
        Ok(keys.iter().map(|k| (*k, *k)).collect())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saturated_engine_refuses_new_requests_at_the_door_and_serves_them_again_after() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_database(test_support::sqlite_url(dir.path()));
    settings.loader_mode = LoaderMode::EngineWith(StrategyKind::Fixed(Some(1)));
    settings.loader.loader_queue_capacity = 2;
    let server = RunningServer::start(settings, seed::SeedPlan::small(42)).await;
    let engine = server.engine().clone();
    let gate = Arc::new(Semaphore::new(0));
    let gated = |name| {
        engine.loader(Gated {
            name,
            gate: gate.clone(),
        })
    };

    // Saturate: one call running (gated), two batches of other groups waiting. The first
    // load is dispatched before the other two arrive: three loads arriving together could
    // all be queued at once, and the third refused by the 2-load queue.
    let spawn = |i: usize, name| {
        let l = gated(name);
        tokio::spawn(async move { l.load(i as i64 + 1).await })
    };
    let mut held = vec![spawn(0, "test.gated.a")];
    let waited = Instant::now();
    while engine.in_flight() < 1 {
        assert!(
            waited.elapsed() < Duration::from_secs(10),
            "the first load was not dispatched"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    held.extend([spawn(1, "test.gated.b"), spawn(2, "test.gated.c")]);
    while engine.in_flight() < 1 || engine.queued() < 2 {
        if waited.elapsed() >= Duration::from_secs(10) {
            let (in_flight, queued) = (engine.in_flight(), engine.queued());
            let mut answered = Vec::new();
            for load in held {
                if load.is_finished() {
                    answered.push(format!("{:?}", load.await));
                }
            }
            panic!(
                "the engine did not saturate: in flight {in_flight}, queued {queued}; loads \
                 already answered: {answered:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }

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
            seen.json.get("data").is_none(),
            "nothing ran: {:?}",
            seen.json
        );
    }
    assert_eq!(
        row_counts(server.db()).await,
        before,
        "the refused mutation wrote nothing"
    );
    assert_eq!(engine.snapshot().requests_refused, 2);

    // Capacity comes back: the held loads finish, a request fitting the 2-load queue is
    // served.
    gate.add_permits(3);
    for h in held {
        assert!(h.await.unwrap().unwrap().is_some());
    }
    drained(&engine, Duration::from_secs(5))
        .await
        .expect("no permit or queue slot leaked");
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
    println!(
        "[admission] refused 2 requests at the door (503 OVERLOADED, retryAfterMs {}), served the same query after",
        read.json
            .pointer("/errors/0/extensions/retryAfterMs")
            .unwrap()
    );
    server.stop().await;
}
