//! Property tests of the engine's invariants, under random load, random failures, random
//! limit changes and callers cancelled at random points:
//!
//! - every caller is answered exactly once (nothing hangs), with the right value or the error
//!   of a batch its key was really in;
//! - no key is lost (every answered key was loaded) or duplicated (within a call keys are
//!   distinct, and no more keys are loaded than were requested);
//! - no call is dispatched above the limit, and the limit stays within `[min, max]`;
//! - a caller admitted at the door is never refused part-way (`Overloaded` only at the door);
//! - no permit, queue slot or place at the door leaks once everybody is gone.

mod common;

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use common::{Backend, Recording, TestFn};
use loader_core::{Engine, LoadError};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Caller {
    group: usize,
    keys: Vec<u64>,
    many: bool,
    start_ms: u64,
    cancel_after_ms: Option<u64>,
    /// Admitted at the door first (a request), or standalone loads.
    request: bool,
}

#[derive(Debug, Clone)]
struct Scenario {
    callers: Vec<Caller>,
    latency_ms: u64,
    bad: HashSet<u64>,
    panics: HashSet<u64>,
    min: usize,
    max: usize,
    limits: Vec<usize>,
    max_batch_size: usize,
    queue_capacity: usize,
    max_requests: usize,
    max_requests_waiting: usize,
}

fn caller(groups: usize) -> impl Strategy<Value = Caller> {
    (
        0..groups,
        prop::collection::vec(0u64..40, 1..6),
        any::<bool>(),
        0u64..30,
        prop::option::weighted(0.25, 0u64..40),
        any::<bool>(),
    )
        .prop_map(
            |(group, keys, many, start_ms, cancel_after_ms, request)| Caller {
                group,
                keys,
                many,
                start_ms,
                cancel_after_ms,
                request,
            },
        )
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (1usize..4).prop_flat_map(|groups| {
        (
            prop::collection::vec(caller(groups), 1..40),
            0u64..10,
            prop::collection::hash_set(0u64..40, 0..3),
            prop::collection::hash_set(0u64..40, 0..2),
            1usize..3,
            3usize..10,
            prop::collection::vec(0usize..16, 1..10),
            1usize..8,
            5usize..200,
            (1usize..6, 0usize..4),
        )
            .prop_map(
                |(callers, latency_ms, bad, panics, min, max, limits, batch, capacity, door)| {
                    Scenario {
                        callers,
                        latency_ms,
                        bad,
                        panics,
                        min,
                        max,
                        limits,
                        max_batch_size: batch,
                        queue_capacity: capacity,
                        max_requests: door.0,
                        max_requests_waiting: door.1,
                    }
                },
            )
    })
}

#[derive(Debug)]
enum Answer {
    Values(HashMap<u64, Option<u64>>),
    Failed(LoadError),
    /// Refused at the door: nothing of it ran.
    Refused,
    Cancelled,
}

async fn run(s: Scenario) -> Result<(), TestCaseError> {
    common::quiet_backend_panics();
    let mut limits = s.limits.clone().into_iter().cycle();
    let (strategy, samples) = Recording::scripted(s.min, move |_| limits.next().unwrap_or(1));
    let engine = Engine::builder()
        .min_concurrency(s.min)
        .initial_concurrency(s.min)
        .max_concurrency(s.max)
        .strategy(strategy)
        .max_batch_size(s.max_batch_size)
        .queue_capacity(s.queue_capacity)
        .max_requests(s.max_requests)
        .max_requests_waiting(s.max_requests_waiting)
        .batch_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let backend = Arc::new(Backend {
        latency: Duration::from_millis(s.latency_ms),
        per_key: Duration::from_micros(100),
        bad: s.bad.clone(),
        panics: s.panics.clone(),
        ..Backend::default()
    });

    let tasks: Vec<_> = s
        .callers
        .iter()
        .cloned()
        .map(|c| {
            let engine = engine.clone();
            let f = TestFn::on(&format!("g{}", c.group), &backend);
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(c.start_ms)).await;
                let request = if c.request {
                    match engine.admit_request().await {
                        Ok(scope) => Some(scope),
                        Err(LoadError::Overloaded { .. }) => return Answer::Refused,
                        Err(e) => panic!("the door failed with {e}"),
                    }
                } else {
                    None
                };
                let loader = match &request {
                    Some(scope) => scope.loader(f),
                    None => engine.loader(f),
                };
                let load = async {
                    if c.many {
                        loader
                            .load_many(c.keys.clone())
                            .await
                            .map(|m| c.keys.iter().map(|k| (*k, m.get(k).copied())).collect())
                    } else {
                        let mut out = HashMap::new();
                        for k in &c.keys {
                            out.insert(*k, loader.load(*k).await?);
                        }
                        Ok(out)
                    }
                };
                let answer = match c.cancel_after_ms {
                    None => Some(load.await),
                    Some(ms) => tokio::time::timeout(Duration::from_millis(ms), load)
                        .await
                        .ok(),
                };
                match answer {
                    None => Answer::Cancelled,
                    Some(Ok(values)) => Answer::Values(values),
                    Some(Err(e)) => Answer::Failed(e),
                }
            })
        })
        .collect();

    // Nothing hangs: on paused time a stuck caller would run into this timeout.
    let answers = tokio::time::timeout(Duration::from_secs(600), futures::future::join_all(tasks))
        .await
        .map_err(|_| TestCaseError::fail("a caller was never answered"))?;

    let (calls, groups) = {
        let calls = backend.calls.lock();
        (calls.clone(), backend.call_groups.lock().clone())
    };
    let mut loaded: HashMap<String, HashSet<u64>> = HashMap::new();
    for (keys, group) in calls.iter().zip(&groups) {
        let distinct: HashSet<u64> = keys.iter().copied().collect();
        prop_assert_eq!(distinct.len(), keys.len(), "a call got duplicate keys");
        prop_assert!(keys.len() <= s.max_batch_size);
        loaded.entry(group.clone()).or_default().extend(distinct);
    }
    let requested: usize = s.callers.iter().map(|c| c.keys.len()).sum();
    prop_assert!(
        backend.keys_loaded() <= requested,
        "more keys loaded than requested"
    );

    for (c, answer) in s.callers.iter().zip(answers) {
        let answer = answer.map_err(|e| TestCaseError::fail(format!("caller task died: {e}")))?;
        let group = format!("g{}", c.group);
        match answer {
            Answer::Values(values) => {
                for k in &c.keys {
                    prop_assert_eq!(values[k], Some(k * 10));
                    prop_assert!(
                        loaded[&group].contains(k),
                        "key {} answered but never loaded",
                        k
                    );
                }
            }
            Answer::Failed(LoadError::Overloaded { .. }) => prop_assert!(
                !c.request,
                "a caller admitted at the door was refused part-way: {:?}",
                c
            ),
            Answer::Refused => prop_assert!(c.request),
            Answer::Cancelled => {}
            Answer::Failed(LoadError::Batch { .. } | LoadError::Panicked { .. }) => {
                let poisoned = calls.iter().zip(&groups).any(|(keys, g)| {
                    *g == group
                        && keys.iter().any(|k| c.keys.contains(k))
                        && keys
                            .iter()
                            .any(|k| s.bad.contains(k) || s.panics.contains(k))
                });
                prop_assert!(
                    poisoned,
                    "caller {:?} failed without a failing key in its batch",
                    c
                );
            }
            Answer::Failed(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }

    for sample in samples.lock().iter() {
        prop_assert!(
            sample.in_flight <= sample.limit,
            "dispatched above the limit: {:?}",
            sample
        );
        prop_assert!(
            (s.min..=s.max).contains(&sample.limit),
            "limit out of bounds: {:?}",
            sample
        );
    }
    prop_assert!((s.min..=s.max).contains(&engine.limit()));
    prop_assert!(backend.max_running.load(Ordering::SeqCst) <= s.max);

    // Let abandoned batches notice and finish, then nothing may be held.
    tokio::time::sleep(Duration::from_secs(1)).await;
    prop_assert_eq!(engine.in_flight(), 0, "a permit leaked");
    prop_assert_eq!(engine.queued(), 0, "a queue slot leaked");
    let door = engine.snapshot();
    prop_assert_eq!(
        (door.requests_in_flight, door.requests_waiting),
        (0, 0),
        "a place at the door leaked"
    );
    prop_assert_eq!(backend.running.load(Ordering::SeqCst), 0);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn invariants_hold_under_random_load_failures_and_cancellation(s in scenario()) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(run(s))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// The same on a multi-threaded runtime with real time (keys race across workers).
    #[test]
    fn invariants_hold_on_a_multi_threaded_runtime(mut s in scenario()) {
        s.latency_ms = s.latency_ms.min(2);
        for c in &mut s.callers {
            c.start_ms = c.start_ms.min(3);
            c.cancel_after_ms = c.cancel_after_ms.map(|ms| ms.min(3));
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(run(s))?;
    }
}
