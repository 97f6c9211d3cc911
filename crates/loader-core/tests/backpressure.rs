//! The bounded queue: loads beyond `queue_capacity`, or expected to wait longer than
//! `max_queue_wait` or the caller's deadline, fail at once with `Overloaded`.

mod common;

use std::{sync::Arc, time::Duration};

use common::{Backend, Recording, TestFn, settle};
use loader_core::{Engine, LoadError};
use tokio::{sync::Notify, time::Instant};

fn overloaded_reason(r: Result<Option<u64>, LoadError>) -> &'static str {
    match r {
        Err(LoadError::Overloaded {
            reason,
            retry_after,
        }) => {
            assert!(retry_after > Duration::ZERO);
            reason.as_str()
        }
        other => panic!("expected Overloaded, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_refuses_new_loads_at_once() {
    let (strategy, _) = Recording::fixed(1);
    let engine = Engine::builder()
        .strategy(strategy)
        .queue_capacity(3)
        .build()
        .unwrap();
    let gate = Arc::new(Notify::new());
    let (f, backend) = TestFn::new(
        "users",
        Backend {
            gate: Some(gate.clone()),
            ..Backend::default()
        },
    );
    let loader = engine.loader(f);
    let running = tokio::spawn({
        let l = loader.clone();
        async move { l.load(0).await }
    });
    settle().await;
    let waiting: Vec<_> = (1..=3)
        .map(|k| {
            let l = loader.clone();
            tokio::spawn(async move { l.load(k).await })
        })
        .collect();
    settle().await;
    assert_eq!(engine.queued(), 3);
    assert_eq!(overloaded_reason(loader.load(4).await), "queue full");
    assert_eq!(engine.snapshot().groups["users"].shed, 1);

    // Everybody else is still answered, exactly once.
    gate.notify_waiters();
    running.await.unwrap().unwrap();
    while backend.calls().len() < 2 {
        tokio::task::yield_now().await;
    }
    gate.notify_waiters();
    for w in waiting {
        assert!(w.await.unwrap().unwrap().is_some());
    }
    assert_eq!(engine.queued(), 0);
}

/// An engine with one permit and `max_queue_wait` 250 ms, and a batch function whose calls
/// take 100 ms and hold one key each.
fn one_permit_100ms_calls() -> (Engine, TestFn) {
    let (strategy, _) = Recording::fixed(1);
    let engine = Engine::builder()
        .strategy(strategy)
        .max_queue_wait(Duration::from_millis(250))
        .max_batch_size(1)
        .build()
        .unwrap();
    let (f, _) = TestFn::new(
        "users",
        Backend {
            latency: Duration::from_millis(100),
            ..Backend::default()
        },
    );
    (engine, f)
}

#[tokio::test(start_paused = true)]
async fn a_load_expected_to_wait_past_max_queue_wait_or_its_deadline_is_refused() {
    let (engine, f) = one_permit_100ms_calls();
    let loader = engine.loader(f).without_cache();
    // Teach the engine that a batch takes 100 ms.
    loader.load(0).await.unwrap();

    // One running, two waiting: a newcomer expects 3 waves of 100 ms > 250 ms.
    let held: Vec<_> = (1..=3)
        .map(|k| {
            let l = loader.clone();
            tokio::spawn(async move { l.load(k).await })
        })
        .collect();
    settle().await;
    assert_eq!(overloaded_reason(loader.load(9).await), "expected wait");

    // With one waiting, 200 ms is fine for the engine but not for a 150 ms deadline.
    for h in held {
        h.await.unwrap().unwrap();
    }
    let held: Vec<_> = (1..=2)
        .map(|k| {
            let l = loader.clone();
            tokio::spawn(async move { l.load(k).await })
        })
        .collect();
    settle().await;
    let hurried = loader
        .clone()
        .with_deadline(Instant::now() + Duration::from_millis(150));
    assert_eq!(overloaded_reason(hurried.load(10).await), "deadline");
    let patient = loader
        .clone()
        .with_deadline(Instant::now() + Duration::from_millis(1000));
    assert_eq!(patient.load(11).await.unwrap(), Some(110));
    for h in held {
        h.await.unwrap().unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn a_caller_deadline_passing_while_waiting_fails_with_deadline_exceeded() {
    let (strategy, _) = Recording::fixed(1);
    let engine = Engine::builder().strategy(strategy).build().unwrap();
    let (f, _) = TestFn::new(
        "users",
        Backend {
            latency: Duration::from_millis(50),
            ..Backend::default()
        },
    );
    let loader = engine.loader(f);
    let start = Instant::now();
    let err = loader
        .with_deadline(start + Duration::from_millis(20))
        .load(1)
        .await
        .unwrap_err();
    assert!(matches!(err, LoadError::DeadlineExceeded { ref group } if &**group == "users"));
    assert_eq!(start.elapsed(), Duration::from_millis(20));
}

#[tokio::test(start_paused = true)]
async fn a_request_admitted_at_the_door_keeps_its_later_loads_under_pressure() {
    let (engine, f) = one_permit_100ms_calls();
    let f = Arc::new(f);
    let background = engine.loader_shared(f.clone()).without_cache();
    // Teach the engine that a batch takes 100 ms.
    background.load(0).await.unwrap();

    // A request is admitted while the engine is idle and gets its first level in.
    let request = engine.admit_request().await.unwrap();
    let level = request.loader_shared(f.clone()).without_cache();
    assert_eq!(level.load(1).await.unwrap(), Some(10));

    // Then the engine saturates: one running, two waiting, 300 ms expected > 250 ms.
    let held: Vec<_> = (2..=4)
        .map(|k| {
            let l = background.clone();
            tokio::spawn(async move { l.load(k).await })
        })
        .collect();
    settle().await;
    // A loader outside any request is refused...
    assert_eq!(overloaded_reason(background.load(9).await), "expected wait");
    // ...but the next level of the admitted request, through another loader of it, waits.
    let next_level = request.loader_shared(f.clone()).without_cache();
    assert_eq!(next_level.load(5).await.unwrap(), Some(50));
    for h in held {
        h.await.unwrap().unwrap();
    }
    assert_eq!(engine.queued(), 0);
    assert_eq!(engine.snapshot().groups["users"].shed, 1);
}
