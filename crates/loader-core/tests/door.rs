//! The door: requests are admitted or refused whole (`Engine::admit_request`, `shed/door.rs`).
//!
//! - the loads of an admitted request are never refused, whatever bounds standalone loads;
//! - the door admits up to its cap, queues the rest first come first served, and refuses a
//!   request only before it ran (full line, expected wait, or a wait that ran out);
//! - under a closed loop of heavy requests the cap settles where batches wait a call or two,
//!   memory stays bounded by the cap, and nothing leaks.

mod common;

use std::{sync::Arc, time::Duration};

use common::{Backend, Recording, TestFn, settle};
use futures::{FutureExt, poll};
use loader_core::{Engine, LoadError, OverloadReason, RequestScope};
use tokio::sync::Notify;

/// One permit and four places at the door: a configured maximum under the door's floor (8
/// requests) wins over it.
fn engine_with_one_permit(
    configure: impl FnOnce(loader_core::EngineBuilder) -> loader_core::EngineBuilder,
) -> Engine {
    let (strategy, _) = Recording::fixed(1);
    configure(
        Engine::builder()
            .initial_concurrency(1)
            .max_requests(4)
            .strategy(strategy),
    )
    .build()
    .unwrap()
}

fn refusal(r: Result<RequestScope, LoadError>) -> OverloadReason {
    match r {
        Err(LoadError::Overloaded {
            reason,
            retry_after,
        }) => {
            assert!(retry_after > Duration::ZERO);
            reason
        }
        Err(e) => panic!("expected Overloaded, got {e}"),
        Ok(_) => panic!("expected Overloaded, got a place"),
    }
}

#[tokio::test(start_paused = true)]
async fn an_admitted_request_is_served_whole_past_every_load_bound() {
    let engine = engine_with_one_permit(|b| {
        b.queue_capacity(4)
            .max_queue_wait(Duration::from_millis(50))
            .max_batch_size(1)
    });
    let (f, backend) = TestFn::new(
        "users",
        Backend {
            latency: Duration::from_millis(10),
            ..Backend::default()
        },
    );
    let f = Arc::new(f);
    let standalone = engine.loader_shared(f.clone()).without_cache();
    standalone.load(1000).await.unwrap(); // the engine learns that a call takes 10 ms

    let request = engine.admit_request().await.unwrap();
    let loader = request.loader_shared(f.clone());
    // 60 loads, one call each, on one permit: 600 ms of work, far past the queue capacity
    // (4) and the expected-wait bound (50 ms) that standalone loads are held to.
    let loads: Vec<_> = (0..60)
        .map(|k| {
            let l = loader.clone();
            tokio::spawn(async move { l.load(k).await })
        })
        .collect();
    settle().await;
    assert!(
        engine.queued() > 4,
        "the request's loads queue past the capacity"
    );
    match standalone.load(2000).await {
        Err(LoadError::Overloaded { reason, .. }) => assert_eq!(reason, OverloadReason::QueueFull),
        other => panic!("a standalone load is still refused: {other:?}"),
    }
    for (k, load) in loads.into_iter().enumerate() {
        assert_eq!(load.await.unwrap().unwrap(), Some(k as u64 * 10));
    }
    let many = loader.load_many(100..130).await.unwrap();
    assert_eq!(many.len(), 30);
    assert_eq!(backend.calls().len(), 1 + 60 + 30);
    drop((loader, request));
    assert_eq!(engine.snapshot().requests_in_flight, 0);
}

#[tokio::test(start_paused = true)]
async fn the_door_admits_up_to_its_cap_and_queues_the_rest_first_come_first_served() {
    let cap_at_start = |permits: usize| {
        let (strategy, _) = Recording::fixed(permits);
        let engine = Engine::builder()
            .initial_concurrency(permits)
            .strategy(strategy)
            .build()
            .unwrap();
        engine.snapshot().request_cap
    };
    assert_eq!(
        cap_at_start(3),
        12,
        "four requests per permit before the door has measured anything"
    );
    assert_eq!(cap_at_start(1), 8, "never under the floor of 8 requests");

    let engine = engine_with_one_permit(|b| b);
    let cap = engine.snapshot().request_cap;
    assert_eq!(cap, 4, "the configured maximum");
    let mut admitted = Vec::new();
    for _ in 0..cap {
        admitted.push(engine.admit_request().await.unwrap());
    }
    let mut fifth = Box::pin(engine.admit_request());
    let mut sixth = Box::pin(engine.admit_request());
    assert!(poll!(&mut fifth).is_pending());
    assert!(poll!(&mut sixth).is_pending());
    assert_eq!(engine.snapshot().requests_waiting, 2);

    drop(admitted.pop());
    let fifth = (&mut fifth)
        .now_or_never()
        .expect("the first in line gets the place");
    assert!(fifth.is_ok());
    assert!(poll!(&mut sixth).is_pending(), "the second waits on");
    drop(admitted.pop());
    assert!(
        (&mut sixth)
            .now_or_never()
            .expect("then the second")
            .is_ok()
    );
    assert_eq!(engine.snapshot().requests_refused, 0);
}

#[tokio::test(start_paused = true)]
async fn a_request_is_refused_only_at_the_door_and_before_it_ran() {
    let engine = engine_with_one_permit(|b| {
        b.max_queue_wait(Duration::from_millis(250))
            .max_requests_waiting(3)
    });
    // Teach the door that a request takes 100 ms: 4 places, so one leaves every 25 ms.
    for _ in 0..4 {
        let r = engine.admit_request().await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(r);
    }
    let held: Vec<_> = futures::future::join_all((0..4).map(|_| engine.admit_request()))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    // Three may wait; the fourth in line is refused at once.
    let mut line: Vec<_> = (0..3).map(|_| Box::pin(engine.admit_request())).collect();
    for w in &mut line {
        assert!(poll!(w).is_pending());
    }
    assert_eq!(
        refusal(engine.admit_request().await),
        OverloadReason::DoorFull
    );

    // Nobody leaves: after `max_queue_wait` the three are refused, having run nothing.
    let started = tokio::time::Instant::now();
    for w in line {
        assert_eq!(refusal(w.await), OverloadReason::DoorWait);
    }
    assert_eq!(started.elapsed(), Duration::from_millis(250));
    assert_eq!(engine.snapshot().requests_refused, 4);
    assert_eq!(engine.snapshot().requests_in_flight, 4);
    drop(held);
    assert_eq!(engine.snapshot().requests_in_flight, 0);
}

#[tokio::test(start_paused = true)]
async fn a_request_expected_to_wait_past_max_queue_wait_is_refused_at_once() {
    let engine = engine_with_one_permit(|b| b.max_queue_wait(Duration::from_millis(60)));
    for _ in 0..4 {
        let r = engine.admit_request().await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(r);
    }
    let _held: Vec<_> = futures::future::join_all((0..4).map(|_| engine.admit_request()))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    // One leaves every 25 ms: the second in line expects 50 ms, the third 75 ms > 60 ms.
    let mut first = Box::pin(engine.admit_request());
    let mut second = Box::pin(engine.admit_request());
    assert!(poll!(&mut first).is_pending());
    assert!(poll!(&mut second).is_pending());
    let started = tokio::time::Instant::now();
    assert_eq!(
        refusal(engine.admit_request().await),
        OverloadReason::ExpectedWait
    );
    assert_eq!(started.elapsed(), Duration::ZERO, "refused at once");
}

/// What a closed loop of heavy requests saw.
#[derive(Debug, Default)]
struct Seen {
    completed: u64,
    refused: u64,
    /// Loads of admitted requests that failed: must stay 0.
    holes: u64,
    max_queued: usize,
}

/// `clients` closed-loop clients, each request `levels` levels of `fan_out` loads (distinct
/// keys, so nothing is deduplicated), for `run` of paused time. A refused client retries
/// after 10 ms.
async fn closed_loop(
    engine: &Engine,
    f: Arc<TestFn>,
    clients: u64,
    levels: u64,
    fan_out: u64,
    run: Duration,
) -> Seen {
    let seen = Arc::new(parking_lot::Mutex::new(Seen::default()));
    let end = tokio::time::Instant::now() + run;
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (engine, f, seen) = (engine.clone(), f.clone(), seen.clone());
            tokio::spawn(async move {
                let mut n = 0u64;
                while tokio::time::Instant::now() < end {
                    let request = match engine.admit_request().await {
                        Ok(r) => r,
                        Err(_) => {
                            seen.lock().refused += 1;
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    };
                    let loader = request.loader_shared(f.clone());
                    let mut whole = true;
                    for level in 0..levels {
                        n += 1;
                        let base = (c * 1_000_000 + n * 1_000) * 10 + level;
                        let keys: Vec<u64> = (0..fan_out).map(|i| base + i * 10).collect();
                        match loader.load_many(keys).await {
                            Ok(values) => assert_eq!(values.len() as u64, fan_out),
                            Err(_) => whole = false,
                        }
                        let queued = engine.queued();
                        let mut s = seen.lock();
                        s.max_queued = s.max_queued.max(queued);
                    }
                    let mut s = seen.lock();
                    if whole {
                        s.completed += 1;
                    } else {
                        s.holes += 1;
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    Arc::into_inner(seen).unwrap().into_inner()
}

#[tokio::test(start_paused = true)]
async fn under_a_closed_loop_of_heavy_requests_the_cap_settles_and_memory_stays_bounded() {
    let (strategy, _) = Recording::fixed(2);
    let engine = Engine::builder()
        .initial_concurrency(2)
        .strategy(strategy)
        .max_batch_size(10)
        .queue_capacity(16) // bounds standalone loads only
        .max_requests(40)
        .build()
        .unwrap();
    let (f, backend) = TestFn::new(
        "posts",
        Backend {
            latency: Duration::from_millis(5),
            per_key: Duration::from_micros(200),
            ..Backend::default()
        },
    );
    let f = Arc::new(f);
    // 200 clients, requests of 4 levels x 30 loads on a downstream of 2 permits.
    let seen = closed_loop(&engine, f.clone(), 200, 4, 30, Duration::from_secs(20)).await;
    let snapshot = engine.snapshot();
    println!(
        "[door] 200 clients, 20 s: {seen:?}; cap {}, limit {}",
        snapshot.request_cap, snapshot.limit
    );
    assert_eq!(
        seen.holes, 0,
        "an admitted request was failed part-way: {seen:?}"
    );
    assert!(seen.completed > 100, "{seen:?}");
    assert!(
        seen.refused > 0,
        "200 clients are more than the door admits: {seen:?}"
    );
    assert!(
        (2..40).contains(&snapshot.request_cap),
        "the cap settles under its maximum: {}",
        snapshot.request_cap
    );
    // Memory: at most the cap's requests in flight, each with its own fan-out.
    assert!(
        seen.max_queued <= 40 * 30,
        "queued loads are bounded by max_requests x fan-out: {seen:?}"
    );
    assert!(
        backend
            .max_running
            .load(std::sync::atomic::Ordering::SeqCst)
            <= 2
    );

    // Everybody gone: nothing held at the door or in the engine.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let snapshot = engine.snapshot();
    assert_eq!(
        (snapshot.requests_in_flight, snapshot.requests_waiting),
        (0, 0)
    );
    assert_eq!((engine.in_flight(), engine.queued()), (0, 0));
}

#[tokio::test(start_paused = true)]
async fn a_waiting_request_given_up_by_its_caller_leaves_the_line() {
    let engine = engine_with_one_permit(|b| b);
    let held: Vec<_> = futures::future::join_all((0..4).map(|_| engine.admit_request()))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let gate = Arc::new(Notify::new());
    let mut waiting = Box::pin(engine.admit_request());
    assert!(poll!(&mut waiting).is_pending());
    drop(waiting); // the client disconnected
    assert_eq!(engine.snapshot().requests_waiting, 0);
    drop(held);
    gate.notify_waiters();
    assert_eq!(engine.snapshot().requests_in_flight, 0);
    assert!(engine.admit_request().await.is_ok());
}

/// The door reads the queue in front of the downstream, not the batches' windows: a request
/// that keeps registering keys holds its batch open (here 5 ms, its own work), and a
/// downstream that answers in 1 ms with permits to spare has no queue. Measured from the
/// batch's first key, the window counted as 5 calls' worth of waiting and the door cut
/// its cap to the concurrency limit, admitting as few requests as there are permits.
#[tokio::test(start_paused = true)]
async fn a_batch_window_is_not_a_queue_in_front_of_the_downstream() {
    let (strategy, _) = Recording::fixed(2);
    let engine = Engine::builder()
        .initial_concurrency(2)
        .strategy(strategy)
        .build()
        .unwrap();
    let (f, backend) = TestFn::new(
        "posts",
        Backend {
            latency: Duration::from_millis(1),
            ..Backend::default()
        },
    );
    let f = Arc::new(f);
    let cap = engine.snapshot().request_cap;
    assert!(cap > 2, "the door starts above the limit: {cap}");
    // One request after another for 1 s: ten intervals of the door's law.
    let end = tokio::time::Instant::now() + Duration::from_secs(1);
    let mut served = 0u64;
    while tokio::time::Instant::now() < end {
        let request = engine.admit_request().await.unwrap();
        let loader = request.loader_shared(f.clone());
        let work = request.track(async {
            // The request's other branch works for 5 ms while the load waits: the batch
            // stays open, since more keys may come until the request is parked.
            let (value, ()) = tokio::join!(
                loader.load(served),
                tokio::time::advance(Duration::from_millis(5))
            );
            value
        });
        assert_eq!(work.await.unwrap(), Some(served * 10));
        served += 1;
    }
    assert!(served > 100, "{served} requests");
    assert_eq!(
        backend.calls().len() as u64,
        served,
        "one call per request: each batch was open while its request worked"
    );
    assert_eq!(
        engine.snapshot().request_cap,
        cap,
        "no queue in front of the downstream: the door holds its cap"
    );
}
