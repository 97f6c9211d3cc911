//! An open-loop overload (arrivals that keep coming faster than the downstream serves) is
//! told from a long closed-loop queue: while it lasts, new work is admitted only when it can
//! start at once and the excess is refused as `Overloaded` with reason `"overload"`, so the
//! loads served keep a short latency instead of queueing up to `max_queue_wait`
//! (`shed/overload.rs`). All under paused time: the figures are exact.

mod common;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use common::{Backend, Recording, TestFn};
use loader_core::{Engine, LoadError, OverloadReason};
use tokio::{task::JoinSet, time::Instant};

/// 4 ms per call plus 0.5 ms per key, at most 4 calls at once: about 6.7 keys per ms at most
/// (25 ms calls of 42 keys), 1.1 per ms with one key per call.
fn engine_and_loader() -> (Engine, loader_core::Loader<TestFn>) {
    let (engine, loader, _) = engine_loader_and_fn();
    (engine, loader)
}

/// Also the batch function, for the loaders of requests admitted at the door.
fn engine_loader_and_fn() -> (Engine, loader_core::Loader<TestFn>, TestFn) {
    let (strategy, _) = Recording::fixed(4);
    let engine = Engine::builder().strategy(strategy).build().unwrap();
    let (f, _) = TestFn::new(
        "rows",
        Backend {
            latency: Duration::from_millis(4),
            per_key: Duration::from_micros(500),
            ..Backend::default()
        },
    );
    let loader = engine.loader(f.clone());
    (engine, loader, f)
}

#[derive(Default)]
struct Seen {
    /// Latency of each load served, in ms.
    served_ms: Vec<f64>,
    overload: usize,
    other_refusals: usize,
    errors: usize,
}

impl std::fmt::Debug for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "served {}, refused for the overload {}, refused otherwise {}, errors {}",
            self.served_ms.len(),
            self.overload,
            self.other_refusals,
            self.errors
        )
    }
}

impl Seen {
    fn p99(&self) -> f64 {
        let mut v = self.served_ms.clone();
        v.sort_by(f64::total_cmp);
        v[(v.len() * 99 / 100).min(v.len() - 1)]
    }
}

/// `per_ms` loads every millisecond (the timer's resolution) for `duration`, each from a new
/// caller that does not wait for the others (open loop). Returns when every load is answered.
async fn open_loop(
    loader: &loader_core::Loader<TestFn>,
    per_ms: usize,
    duration: Duration,
    first_key: u64,
) -> Seen {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let end = Instant::now() + duration;
    let mut tasks = JoinSet::new();
    let mut key = first_key;
    while Instant::now() < end {
        for _ in 0..per_ms {
            spawn_load(&mut tasks, loader, &seen, key);
            key += 1;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    while tasks.join_next().await.is_some() {}
    Arc::try_unwrap(seen).unwrap().into_inner().unwrap()
}

fn spawn_load(
    tasks: &mut JoinSet<()>,
    loader: &loader_core::Loader<TestFn>,
    seen: &Arc<Mutex<Seen>>,
    key: u64,
) {
    {
        let (loader, seen) = (loader.clone(), seen.clone());
        tasks.spawn(async move {
            let start = Instant::now();
            let result = loader.load(key).await;
            let mut seen = seen.lock().unwrap();
            match result {
                Ok(Some(_)) => seen.served_ms.push(start.elapsed().as_secs_f64() * 1e3),
                Err(LoadError::Overloaded {
                    reason: OverloadReason::Overload,
                    retry_after,
                }) => {
                    assert!(retry_after > Duration::ZERO);
                    seen.overload += 1;
                }
                Err(LoadError::Overloaded { .. }) => seen.other_refusals += 1,
                _ => seen.errors += 1,
            }
        });
    }
}

#[tokio::test(start_paused = true)]
async fn an_open_loop_overload_is_shed_at_once_and_the_loads_served_stay_fast() {
    let (engine, loader) = engine_and_loader();
    // Under capacity: one load per ms.
    let light = open_loop(&loader, 1, Duration::from_secs(1), 0).await;
    assert_eq!(
        light.overload + light.other_refusals + light.errors,
        0,
        "{light:?}"
    );
    assert_eq!(engine.snapshot().overloads, 0);

    // Ten loads per ms, about 1.5 times the most the downstream can serve.
    let over = open_loop(&loader, 10, Duration::from_secs(2), 1_000_000).await;
    let snapshot = engine.snapshot();
    assert_eq!(snapshot.overloads, 1, "one overload, held while it lasted");
    assert!(over.overload > 2_000, "the excess is refused: {over:?}");
    assert_eq!(over.errors, 0);
    // Without the overload mode the queue fills until the expected wait reaches
    // `max_queue_wait` (1 s) and every load served waits about that long.
    let p99 = over.p99();
    assert!(
        p99 < 100.0,
        "served p99 {p99:.1} ms (served {}, refused {} + {})",
        over.served_ms.len(),
        over.overload,
        over.other_refusals
    );
    assert!(
        over.served_ms.len() > 4_000,
        "{} served",
        over.served_ms.len()
    );

    // The arrivals stop: the overload ends and new work is admitted again, also when it waits.
    // Within one window of `CALM` (100 ms) the engine sees that the demand is under what it
    // served with a queue...
    let ending = open_loop(&loader, 1, Duration::from_millis(200), 8_000_000).await;
    assert!(!engine.snapshot().overloaded, "{ending:?}");
    assert!(ending.overload < 100, "{ending:?}");
    // ...and from then on admits everything, batching in the queue as before.
    let after = open_loop(&loader, 1, Duration::from_secs(1), 9_000_000).await;
    assert_eq!(
        after.overload + after.other_refusals + after.errors,
        0,
        "{after:?}"
    );
    assert_eq!((engine.in_flight(), engine.queued()), (0, 0));
}

#[tokio::test(start_paused = true)]
async fn a_long_closed_loop_queue_is_not_an_overload() {
    let (engine, loader) = engine_and_loader();
    // 300 callers that each wait for their answer before asking again: far more than the
    // 4 permits serve at once, so the queue stands, but it cannot keep growing.
    let mut clients = JoinSet::new();
    let end = Instant::now() + Duration::from_secs(3);
    for c in 0..300u64 {
        let loader = loader.clone();
        clients.spawn(async move {
            let mut key = c * 1_000_000;
            let mut served = 0u32;
            while Instant::now() < end {
                let keys: Vec<u64> = (key..key + 5).collect();
                key += 5;
                let values = loader
                    .load_many(keys)
                    .await
                    .expect("a closed loop is served");
                assert_eq!(values.len(), 5);
                served += 1;
            }
            served
        });
    }
    let mut served = 0;
    while let Some(n) = clients.join_next().await {
        served += n.unwrap();
    }
    let snapshot = engine.snapshot();
    assert_eq!(snapshot.overloads, 0);
    assert!(served > 1_000, "{served} requests served");
}

#[tokio::test(start_paused = true)]
async fn requests_at_the_door_and_their_loads_are_served_through_an_overload() {
    let (engine, loader, f) = engine_loader_and_fn();
    let request = engine.admit_request().await.expect("an idle engine admits");
    let scoped = request.loader(f.clone());
    let flood = {
        let loader = loader.clone();
        tokio::spawn(async move { open_loop(&loader, 10, Duration::from_secs(1), 0).await })
    };
    // Wait until the overload is on, then load the admitted request's next levels.
    let give_up = Instant::now() + Duration::from_millis(500);
    while !engine.snapshot().overloaded {
        assert!(Instant::now() < give_up, "no overload seen");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The door does not apply the overload mode: a request fans out into levels that need
    // the queue to batch (the door has its own law).
    let at_door = engine
        .admit_request()
        .await
        .expect("the door is not subject to the overload mode");
    let door_loader = at_door.loader(f);
    let values = door_loader.load_many(60_000_000..60_000_010).await.unwrap();
    assert_eq!(values.len(), 10);
    for level in 0..5u64 {
        let keys: Vec<u64> = (0..10).map(|k| 50_000_000 + level * 100 + k).collect();
        let values = scoped
            .load_many(keys)
            .await
            .expect("never refused nor shed");
        assert_eq!(values.len(), 10);
    }
    let over = flood.await.unwrap();
    assert!(over.overload > 0, "{over:?}");
}
