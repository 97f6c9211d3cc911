//! Errors, panics, timeouts and cancellation: every caller gets one answer, only the keys of
//! the failing batch fail, and no path leaks a permit or a queue slot.

mod common;

use std::{sync::atomic::Ordering, time::Duration};

use common::{Backend, BackendError, Recording, TestFn, settle};
use futures::future::join_all;
use loader_core::{Engine, LoadError, limit::Outcome};
use tokio::time::Instant;

fn engine_with_limit(
    limit: usize,
) -> (
    Engine,
    std::sync::Arc<parking_lot::Mutex<Vec<loader_core::limit::Sample>>>,
) {
    let (strategy, samples) = Recording::fixed(limit);
    let engine = Engine::builder()
        .max_concurrency(64)
        .strategy(strategy)
        .batch_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    (engine, samples)
}

#[tokio::test(start_paused = true)]
async fn a_batch_error_reaches_every_key_of_the_batch_shared() {
    let (engine, samples) = engine_with_limit(4);
    let (f, _) = TestFn::new(
        "users",
        Backend {
            bad: [3].into(),
            ..Backend::default()
        },
    );
    let loader = engine.loader(f);
    let results = join_all((0..5).map(|k| loader.load(k))).await;
    for r in results {
        let LoadError::Batch { group, source } = r.unwrap_err() else {
            panic!("expected a batch error");
        };
        assert_eq!(&*group, "users");
        assert_eq!(
            source.downcast_ref::<BackendError>(),
            Some(&BackendError(vec![3]))
        );
    }
    assert_eq!(samples.lock()[0].outcome, Outcome::Error);
    assert_eq!(engine.snapshot().groups["users"].errors, 1);
}

#[tokio::test(start_paused = true)]
async fn isolated_errors_fail_only_the_keys_that_really_fail() {
    let engine = Engine::builder().isolate_errors(true).build().unwrap();
    let (f, backend) = TestFn::new(
        "users",
        Backend {
            bad: [3, 9].into(),
            ..Backend::default()
        },
    );
    let loader = engine.loader(f);
    let results = join_all((0..16).map(|k| loader.load(k))).await;
    for (k, r) in results.into_iter().enumerate() {
        match k {
            3 | 9 => assert!(matches!(r, Err(LoadError::Batch { .. })), "key {k}: {r:?}"),
            _ => assert_eq!(r.unwrap(), Some(k as u64 * 10), "key {k}"),
        }
    }
    assert!(backend.calls().len() > 2, "the batch was split and retried");
}

#[tokio::test(start_paused = true)]
async fn a_panicking_batch_fails_only_its_own_keys() {
    common::quiet_backend_panics();
    let (engine, samples) = engine_with_limit(4);
    let backend = std::sync::Arc::new(Backend {
        panics: [7].into(),
        ..Backend::default()
    });
    let bad = engine.loader(TestFn::on("bad", &backend));
    let good = engine.loader(TestFn::on("good", &backend));
    let (a, b, c) = tokio::join!(bad.load(7), bad.load(1), good.load(2));
    for r in [a, b] {
        match r {
            Err(LoadError::Panicked { group, message }) => {
                assert_eq!(&*group, "bad");
                assert!(message.contains("key 7"), "{message}");
            }
            other => panic!("expected a panic error, got {other:?}"),
        }
    }
    assert_eq!(c.unwrap(), Some(20));
    assert_eq!(engine.in_flight(), 0);
    assert!(samples.lock().iter().any(|s| s.outcome == Outcome::Error));
    assert_eq!(engine.snapshot().groups["bad"].panics, 1);
}

#[tokio::test(start_paused = true)]
async fn a_batch_that_never_returns_is_cut_by_the_batch_timeout() {
    let (engine, samples) = engine_with_limit(1);
    let (f, backend) = TestFn::new(
        "users",
        Backend {
            hangs: [1].into(),
            ..Backend::default()
        },
    );
    let loader = engine.loader(f);
    let start = Instant::now();
    let err = loader.load(1).await.unwrap_err();
    assert!(matches!(err, LoadError::Timeout { after, .. } if after == Duration::from_millis(100)));
    assert_eq!(start.elapsed(), Duration::from_millis(100));
    assert_eq!(backend.cut.load(Ordering::SeqCst), 1);
    assert_eq!(samples.lock()[0].outcome, Outcome::Timeout);
    assert_eq!(engine.snapshot().groups["users"].timeouts, 1);
    // The permit came back: with a limit of 1, another load still runs.
    assert_eq!(engine.in_flight(), 0);
    assert_eq!(loader.load(2).await.unwrap(), Some(20));
}

#[tokio::test(start_paused = true)]
async fn a_caller_dropped_mid_wait_leaks_no_permit_and_no_queue_slot() {
    let (engine, _) = engine_with_limit(1);
    let (f, backend) = TestFn::new(
        "users",
        Backend {
            latency: Duration::from_millis(10),
            ..Backend::default()
        },
    );
    let loader = engine.loader(f);
    let busy = tokio::spawn({
        let l = loader.clone();
        async move { l.load(0).await }
    });
    settle().await;
    let waiting = tokio::spawn({
        let l = loader.clone();
        async move { l.load(1).await }
    });
    settle().await;
    assert_eq!(engine.queued(), 1);
    waiting.abort();
    assert!(waiting.await.unwrap_err().is_cancelled());
    assert_eq!(engine.queued(), 0);
    busy.await.unwrap().unwrap();
    settle().await;
    assert_eq!(engine.in_flight(), 0);
    assert_eq!(
        backend.calls(),
        vec![vec![0]],
        "the abandoned batch never ran"
    );
    assert_eq!(loader.load(2).await.unwrap(), Some(20));
}

#[tokio::test(start_paused = true)]
async fn a_running_batch_whose_callers_all_left_is_cancelled() {
    let (engine, samples) = engine_with_limit(1);
    let (f, backend) = TestFn::new(
        "users",
        Backend {
            hangs: [5].into(),
            ..Backend::default()
        },
    );
    let loader = engine
        .loader(f)
        .with_deadline(Instant::now() + Duration::from_millis(20));
    let err = loader.load(5).await.unwrap_err();
    assert!(matches!(err, LoadError::DeadlineExceeded { .. }), "{err:?}");
    settle().await;
    assert_eq!(
        backend.cut.load(Ordering::SeqCst),
        1,
        "the call was dropped"
    );
    assert_eq!(engine.in_flight(), 0);
    assert_eq!(engine.queued(), 0);
    assert!(
        samples.lock().is_empty(),
        "a cancelled call teaches the strategy nothing"
    );
}

#[tokio::test(start_paused = true)]
async fn permits_come_back_on_every_way_out_of_a_batch() {
    let (engine, _) = engine_with_limit(1);
    let backend = std::sync::Arc::new(Backend {
        bad: [1].into(),
        panics: [2].into(),
        hangs: [3].into(),
        ..Backend::default()
    });
    let loader = engine.loader(TestFn::on("users", &backend)).without_cache();
    assert!(loader.load(0).await.is_ok());
    assert!(matches!(loader.load(1).await, Err(LoadError::Batch { .. })));
    assert!(matches!(
        loader.load(2).await,
        Err(LoadError::Panicked { .. })
    ));
    assert!(matches!(
        loader.load(3).await,
        Err(LoadError::Timeout { .. })
    ));
    let cancelled = loader
        .clone()
        .with_deadline(Instant::now() + Duration::from_millis(1))
        .load(3)
        .await;
    assert!(matches!(cancelled, Err(LoadError::DeadlineExceeded { .. })));
    settle().await;
    assert_eq!(engine.in_flight(), 0);
    assert_eq!(engine.queued(), 0);
    assert_eq!(loader.load(4).await.unwrap(), Some(40));
}
