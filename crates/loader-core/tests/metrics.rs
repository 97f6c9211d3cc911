//! `Engine::snapshot`: rates, percentiles and counters over the metrics window, per group
//! and in total, serialisable.

mod common;

use std::{sync::Arc, time::Duration};

use common::{Backend, TestFn};
use futures::future::join_all;
use loader_core::{Engine, Snapshot, limit::StrategyKind};

#[tokio::test(start_paused = true)]
async fn the_snapshot_reports_rates_percentiles_and_counters_per_group_and_in_total() {
    let engine = Engine::builder()
        .scaling_strategy(StrategyKind::Fixed(Some(8)))
        .metrics_window(Duration::from_secs(10))
        // 20 ms calls of 3 keys: with the default 25 ms target the cost bound would cap
        // batches at 3 keys and the duplicate key of a round would start a batch of its own.
        .target_response_time(Duration::from_secs(1))
        .build()
        .unwrap();
    let backend = Arc::new(Backend {
        latency: Duration::from_millis(20),
        bad: [1_000].into(),
        ..Backend::default()
    });
    let users = engine.loader(TestFn::on("users", &backend)).without_cache();
    let posts = engine.loader(TestFn::on("posts", &backend)).without_cache();
    // 10 rounds, one per 100 ms: users loads 4 keys (one duplicated), posts loads 2.
    for round in 0..10u64 {
        let base = round * 10;
        let u = join_all([base, base + 1, base + 2, base + 2].map(|k| users.load(k)));
        let p = join_all([base, base + 1].map(|k| posts.load(k)));
        let (u, p) = tokio::join!(u, p);
        assert!(u.iter().chain(p.iter()).all(Result::is_ok));
        tokio::time::sleep(Duration::from_millis(80)).await;
    }
    assert!(posts.load(1_000).await.is_err());

    let snap = engine.snapshot();
    let json = serde_json::to_string(&snap).unwrap();
    let back: Snapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(back.groups.keys().collect::<Vec<_>>(), ["posts", "users"]);
    assert_eq!(back.total.batches, snap.total.batches);
    assert_eq!(back.limit_history.len(), snap.limit_history.len());

    assert_eq!(snap.strategy, "fixed");
    assert_eq!(snap.limit, 8);
    assert_eq!((snap.in_flight, snap.queued), (0, 0));
    assert_eq!(snap.window_s, 10.0);

    let users = &snap.groups["users"];
    assert_eq!(users.batches, 10);
    assert_eq!(users.errors, 0);
    assert_eq!(users.batch_size.p50, 3.0);
    // 20 ms calls, within hdrhistogram's 2 significant digits.
    assert!(
        (users.latency_ms.p50 - 20.0).abs() < 0.2,
        "{:?}",
        users.latency_ms
    );
    assert!(
        (users.latency_ms.p99 - 20.0).abs() < 0.2,
        "{:?}",
        users.latency_ms
    );
    // 30 keys and 40 loads in ~1 s.
    assert!(
        users.keys_per_s > 25.0 && users.keys_per_s < 35.0,
        "{}",
        users.keys_per_s
    );
    assert!(users.loads_per_s > users.keys_per_s);

    let posts = &snap.groups["posts"];
    assert_eq!(posts.batches, 11);
    assert_eq!(posts.errors, 1);
    assert!((posts.error_rate - 1.0 / 11.0).abs() < 1e-9);

    assert_eq!(snap.total.batches, 21);
    assert_eq!(snap.total.errors, 1);
    assert_eq!(snap.total.batch_size.max, 3.0);
}
