//! Fault: a batch function panics for one query group.
//!
//! The server's own batch functions (loader-seaorm's) have no switch that makes them panic,
//! so the panicking group is put next to them in two ways:
//! - on one `Engine`, a real `ByKey<user::Entity>` group and a group whose batch function
//!   panics, loaded concurrently;
//! - on the running server's own engine (the one every HTTP request uses), a panicking
//!   group loaded while HTTP clients run nested queries.
//!
//! Only the panicking group's keys fail (with `LoadError::Panicked`); the other group, the
//! HTTP requests and the engine's capacity are unaffected.

mod faults_common;

use std::{collections::HashMap, convert::Infallible, time::Duration, time::Instant};

use entity::user;
use faults_common::{RunningServer, drained, outcome_counts, post_graphql, scaled_count};
use loader_core::{BatchFn, Engine, LoadError, QueryGroup};
use loader_seaorm::ByKey;
use serde_json::json;
use server::{config::Settings, database, seed};

/// Keeps the test output readable: the injected panics are expected, so the default hook
/// (which would print each one, with a backtrace when `RUST_BACKTRACE` is set) skips them.
fn quiet_injected_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let injected = info
                .payload()
                .downcast_ref::<String>()
                .is_some_and(|m| m.starts_with("injected panic"));
            if !injected {
                default(info);
            }
        }));
    });
}

/// A batch function that panics on every call.
struct Panicking;

impl BatchFn for Panicking {
    type Key = i64;
    type Value = i64;
    type Error = Infallible;

    fn group(&self) -> QueryGroup {
        QueryGroup::new("fault.panicking")
    }

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, i64>, Infallible> {
        panic!("injected panic for a batch of {} keys", keys.len());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_group_fails_only_its_own_keys_on_one_engine() {
    quiet_injected_panics();
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings::for_database(test_support::sqlite_url(dir.path()));
    let db = database::connect(&settings).await.unwrap();
    database::migrate(&db).await.unwrap();
    seed::run(&db, seed::SeedPlan::small(42), false)
        .await
        .unwrap();

    let engine = Engine::builder().max_concurrency(4).build().unwrap();
    // One admitted request carries every load, as in the server: its loads wait for capacity
    // and are never shed, so the only failures are the panics under test (a burst of 1 200
    // standalone loads at a limit of 4 may be shed as an open-loop overload, by design).
    let request = engine.admit_request().await.expect("an idle engine admits");
    let rounds = scaled_count(50);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for round in 0..rounds {
        for key in 1..=12_i64 {
            let users = request.loader(ByKey::<user::Entity>::new(db.clone()));
            tasks.push(tokio::spawn(async move {
                (true, users.load(key).await.map(|u| u.map(|u| u.id)))
            }));
            let bad = request.loader(Panicking);
            let k = round as i64 * 100 + key;
            tasks.push(tokio::spawn(async move {
                (false, bad.load(k).await.map(|v| v.map(|_| k)))
            }));
        }
    }
    let (mut good_ok, mut bad_panicked) = (0, 0);
    for task in tasks {
        let (good, result) = task.await.expect("a load task never panics itself");
        if good {
            let id = result.unwrap_or_else(|e| panic!("the healthy group failed: {e}"));
            assert!(id.is_some(), "every seeded user exists");
            good_ok += 1;
        } else {
            match result {
                Err(LoadError::Panicked { group, message }) => {
                    assert_eq!(&*group, "fault.panicking");
                    assert!(message.contains("injected panic"), "{message}");
                    bad_panicked += 1;
                }
                other => panic!("a key of the panicking group got {other:?}"),
            }
        }
    }
    drop(request);
    let drain = drained(&engine, Duration::from_secs(5))
        .await
        .expect("no permit or queue slot leaked");
    let snapshot = engine.snapshot();
    println!(
        "[fault] panic/engine: {} loads per group in {:.0} ms; healthy ok {good_ok}, panicking \
         failed {bad_panicked}; panics counted {}; healthy group panics {}; limit {}; drained in {:?}",
        rounds * 12,
        started.elapsed().as_secs_f64() * 1e3,
        snapshot.groups["fault.panicking"].panics,
        snapshot
            .groups
            .iter()
            .filter(|(name, _)| name.as_str() != "fault.panicking")
            .map(|(_, g)| g.panics)
            .sum::<u64>(),
        snapshot.limit,
        drain,
    );
    assert_eq!(good_ok, rounds * 12);
    assert_eq!(bad_panicked, rounds * 12);
    assert!(snapshot.groups["fault.panicking"].panics > 0);
    for (name, group) in &snapshot.groups {
        if name != "fault.panicking" {
            assert_eq!(
                group.panics, 0,
                "{name} must not see the other group's panics"
            );
        }
    }
    // The engine still serves the healthy group afterwards.
    let users = engine.loader(ByKey::<user::Entity>::new(db.clone()));
    assert_eq!(users.load(3).await.unwrap().map(|u| u.id), Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_group_on_the_servers_engine_leaves_http_requests_unaffected() {
    quiet_injected_panics();
    let dir = tempfile::tempdir().unwrap();
    let server = RunningServer::start(
        Settings::for_database(test_support::sqlite_url(dir.path())),
        seed::SeedPlan::small(42),
    )
    .await;
    let engine = server.engine().clone();
    let origin = Instant::now();

    // The panicking group runs on the very engine the HTTP requests use.
    let panicking = {
        let engine = engine.clone();
        let loads = scaled_count(400);
        tokio::spawn(async move {
            let mut panicked = 0;
            for k in 0..loads as i64 {
                match engine.loader(Panicking).load(k).await {
                    Err(LoadError::Panicked { .. }) => panicked += 1,
                    other => panic!("expected a panic error, got {other:?}"),
                }
            }
            panicked
        })
    };
    let client = reqwest::Client::new();
    let url = server.url("/graphql");
    let mut clients = Vec::new();
    for c in 0..8_i64 {
        let (client, url) = (client.clone(), url.clone());
        let requests = scaled_count(25);
        clients.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            for r in 0..requests as i64 {
                let id = (c * 7 + r) % 12 + 1;
                seen.push(
                    post_graphql(
                        &client,
                        &url,
                        "query($id: ID!) { user(id: $id) { name posts(first: 3) { title comments(first: 2) { author { name } } tags { name } } } }",
                        json!({ "id": id.to_string() }),
                        origin,
                    )
                    .await,
                );
            }
            seen
        }));
    }
    let mut seen = Vec::new();
    for c in clients {
        seen.extend(c.await.unwrap());
    }
    let panicked = panicking
        .await
        .expect("the panicking loads are answered, not propagated");
    let stats: serde_json::Value = client
        .get(server.url("/loader/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let health = client
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap()
        .status();
    let counts = outcome_counts(&seen);
    println!(
        "[fault] panic/server: {panicked} panicking loads on the server's engine while {} HTTP \
         requests ran: {counts:?}; /loader/stats panics of the group: {}; /healthz {health}",
        seen.len(),
        stats["groups"]["fault.panicking"]["panics"],
    );
    assert!(panicked > 0);
    assert_eq!(
        counts.get("ok"),
        Some(&seen.len()),
        "every HTTP request succeeds: {counts:?}"
    );
    assert!(
        stats["groups"]["fault.panicking"]["panics"]
            .as_u64()
            .unwrap_or(0)
            > 0
    );
    assert_eq!(health, 200);
    drained(&engine, Duration::from_secs(5))
        .await
        .expect("no permit or queue slot leaked");
    server.stop().await;
}
