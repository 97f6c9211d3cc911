//! The shared concurrency limit: one for all groups, moved by the strategy after every batch
//! (clamped), never exceeded, served fairly between groups, and warm-started from learned
//! state.

mod common;

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use common::{Backend, Recording, TestFn, settle};
use futures::future::join_all;
use loader_core::{Engine, LearnedGroup, LearnedState, limit::StrategyKind};
use tokio::sync::Notify;

#[tokio::test(start_paused = true)]
async fn all_groups_share_one_limit() {
    let engine = Engine::builder()
        .scaling_strategy(StrategyKind::Fixed(Some(3)))
        .build()
        .unwrap();
    let backend = Arc::new(Backend {
        latency: Duration::from_millis(10),
        ..Backend::default()
    });
    let loads = (0..20u64).map(|g| {
        let loader = engine.loader(TestFn::on(&format!("group{g}"), &backend));
        async move { loader.load(g).await }
    });
    for r in join_all(loads).await {
        r.unwrap();
    }
    assert_eq!(backend.calls().len(), 20);
    assert_eq!(backend.max_running.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn the_limit_follows_the_strategy_within_the_bounds() {
    let mut script = vec![50, 0, 6].into_iter();
    let (strategy, samples) = Recording::scripted(4, move |_| script.next().unwrap_or(6));
    let engine = Engine::builder()
        .min_concurrency(2)
        .max_concurrency(10)
        .strategy(strategy)
        .local_load_probe(Arc::new(|| 0.42))
        .build()
        .unwrap();
    let (f, _) = TestFn::new("users", Backend::default());
    let loader = engine.loader(f).without_cache();
    let mut limits = Vec::new();
    for k in 0..3 {
        loader.load(k).await.unwrap();
        limits.push(engine.limit());
    }
    assert_eq!(limits, [10, 2, 6]);
    let samples = samples.lock();
    assert_eq!(
        samples[1].limit, 10,
        "the sample carries the limit at dispatch"
    );
    assert!(samples.iter().all(|s| s.local_load == 0.42));
    assert!(samples.windows(2).all(|w| w[0].now <= w[1].now));
    let history = engine.snapshot().limit_history;
    let changes: Vec<_> = history
        .iter()
        .filter(|p| p.reason == "scripted")
        .map(|p| p.limit)
        .collect();
    assert_eq!(changes, [10, 2, 6]);
}

#[tokio::test(start_paused = true)]
async fn every_sample_names_its_query_group() {
    // The strategy compares latencies group by group: the sample says which group called.
    let (strategy, samples) = Recording::scripted(4, |_| 4);
    let engine = Engine::builder().strategy(strategy).build().unwrap();
    let backend = Arc::new(Backend::default());
    let users = engine.loader(TestFn::on("users", &backend)).without_cache();
    let posts = engine.loader(TestFn::on("posts", &backend)).without_cache();
    users.load(1).await.unwrap();
    posts.load(1).await.unwrap();
    users.load(2).await.unwrap();
    let groups: Vec<usize> = samples.lock().iter().map(|s| s.group).collect();
    assert_eq!(groups, [0, 1, 0], "numbered in order of first use");
}

#[tokio::test(start_paused = true)]
async fn a_lowered_limit_admits_no_new_call_until_in_flight_drops_below_it() {
    // Starts at 4; the first finished batch lowers it to 1.
    let (strategy, samples) = Recording::scripted(4, |_| 1);
    let engine = Engine::builder()
        .strategy(strategy)
        .max_batch_size(5)
        .build()
        .unwrap();
    let backend = Arc::new(Backend {
        latency: Duration::from_millis(10),
        per_key: Duration::from_millis(1),
        ..Backend::default()
    });
    // Four groups with different sizes finish at different times.
    let loads = (0..8u64).map(|g| {
        let loader = engine.loader(TestFn::on(&format!("g{}", g % 4), &backend));
        async move { loader.load_many(0..(g + 1) * 3).await }
    });
    for r in join_all(loads).await {
        r.unwrap();
    }
    let samples = samples.lock();
    for s in samples.iter() {
        assert!(s.in_flight <= s.limit, "dispatched above the limit: {s:?}");
    }
    let after_lowering = samples.iter().filter(|s| s.limit == 1).count();
    assert!(
        after_lowering > 10,
        "most batches ran under the lowered limit"
    );
    assert_eq!(backend.max_running.load(Ordering::SeqCst), 4);
    assert_eq!(engine.limit(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_hot_group_cannot_starve_a_cold_one() {
    let (strategy, _) = Recording::fixed(1);
    let engine = Engine::builder()
        .strategy(strategy)
        .max_batch_size(1)
        .build()
        .unwrap();
    let gate = Arc::new(Notify::new());
    let backend = Arc::new(Backend {
        gate: Some(gate.clone()),
        ..Backend::default()
    });
    let hot = engine.loader(TestFn::on("hot", &backend));
    let cold = engine.loader(TestFn::on("cold", &backend));
    let mut tasks = Vec::new();
    for k in 0..10 {
        let l = hot.clone();
        tasks.push(tokio::spawn(async move { l.load(k).await }));
    }
    settle().await;
    let l = cold.clone();
    tasks.push(tokio::spawn(async move { l.load(100).await }));
    settle().await;
    while tasks.iter().any(|t| !t.is_finished()) {
        gate.notify_waiters();
        settle().await;
    }
    let groups = backend.call_groups.lock().clone();
    let cold_turn = groups.iter().position(|g| g == "cold").unwrap();
    assert!(
        cold_turn <= 2,
        "cold group served at turn {cold_turn}: {groups:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_restored_engine_starts_at_its_learned_limit_and_batch_size() {
    let mut learned = LearnedState::empty("aimd");
    learned.best_limit = Some(24);
    learned.groups.insert(
        "users".into(),
        LearnedGroup {
            cost: loader_core::metrics::CostEstimate {
                fixed_ms: 5.0,
                per_key_ms: 0.5,
                samples: 50,
            },
            best_limit: Some(20),
        },
    );
    let engine = Engine::builder()
        .scaling_strategy(StrategyKind::Aimd)
        .target_response_time(Duration::from_millis(25))
        .learned_state(learned)
        .build()
        .unwrap();
    assert_eq!(engine.limit(), 24);
    // (25 - 5) / 0.5 = 40 keys per batch, before any call.
    let snap = engine.snapshot();
    assert_eq!(snap.groups["users"].target_batch_size, 40);
    assert_eq!(snap.limit_history[0].reason, "restored from learned state");

    let (f, backend) = TestFn::new("users", Backend::default());
    engine.loader(f).load_many(0..100).await.unwrap();
    let mut sizes: Vec<usize> = backend.calls().iter().map(Vec::len).collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [20, 40, 40]);

    let state = engine.learned();
    assert_eq!(state.strategy, "aimd");
    assert_eq!(state.best_limit, Some(24));
    assert_eq!(state.groups["users"].best_limit, Some(20));
}

#[tokio::test(start_paused = true)]
async fn learned_state_round_trips_through_a_file() {
    let engine = Engine::builder().build().unwrap();
    let (f, _) = TestFn::new(
        "users",
        Backend {
            latency: Duration::from_millis(2),
            per_key: Duration::from_millis(1),
            ..Backend::default()
        },
    );
    let loader = engine.loader(f).without_cache();
    for n in [1u64, 4, 8, 16] {
        loader.load_many(0..n).await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("learned.json");
    // The caller keeps the state where it likes: here a JSON file.
    std::fs::write(&path, serde_json::to_vec(&engine.learned()).unwrap()).unwrap();
    let state: LearnedState = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(state, engine.learned());
    let cost = state.groups["users"].cost;
    assert!((cost.per_key_ms - 1.0).abs() < 0.05, "{cost:?}");
    assert_eq!(cost.samples, 4);
}
