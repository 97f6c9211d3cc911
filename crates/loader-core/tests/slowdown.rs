//! The door sheds new requests while the downstream is much slower than normal, and lets go
//! when it recovers (`Engine::admit_request`, `slowdown.rs`).

mod common;

use std::{collections::VecDeque, time::Duration};

use common::{Backend, TestFn};
use loader_core::{Engine, LoadError, RequestScope};

/// What `clients` closed-loop clients saw over `seconds` when each request takes `latency`:
/// requests admitted, and refusals by reason. A refused client tries again at the next step.
#[derive(Debug, Default)]
struct Seen {
    admitted: u32,
    slowdown: u32,
    other: u32,
}

async fn closed_loop(engine: &Engine, clients: usize, latency: Duration, seconds: u64) -> Seen {
    let step = latency / clients as u32;
    let end = tokio::time::Instant::now() + Duration::from_secs(seconds);
    let mut running: VecDeque<(tokio::time::Instant, RequestScope)> = VecDeque::new();
    let mut seen = Seen::default();
    while tokio::time::Instant::now() < end {
        let now = tokio::time::Instant::now();
        while running.front().is_some_and(|(done, _)| *done <= now) {
            running.pop_front(); // the request ends: its scope is dropped
        }
        if running.len() < clients {
            match engine.admit_request() {
                Ok(scope) => {
                    seen.admitted += 1;
                    running.push_back((now + latency, scope));
                }
                Err(LoadError::Overloaded {
                    reason: "slowdown", ..
                }) => seen.slowdown += 1,
                Err(_) => seen.other += 1,
            }
        }
        tokio::time::advance(step).await;
    }
    seen
}

#[tokio::test(start_paused = true)]
async fn the_door_sheds_while_the_downstream_is_slow_and_lets_go_after() {
    let engine = Engine::builder().build().unwrap();
    // Normal: 64 clients, 40 ms per request (1 600 requests/s).
    let normal = closed_loop(&engine, 64, Duration::from_millis(40), 10).await;
    assert_eq!((normal.slowdown, normal.other), (0, 0), "{normal:?}");
    assert!(!engine.snapshot().slowdown_shedding);

    // The downstream slows: each request takes 180 ms. Fewer complete, each takes longer:
    // the door refuses part of the new requests, with the reason "slowdown".
    let slow = closed_loop(&engine, 64, Duration::from_millis(180), 5).await;
    assert!(engine.snapshot().slowdown_shedding, "{slow:?}");
    assert!(slow.slowdown > 0 && slow.admitted > 0, "{slow:?}");
    assert!(engine.snapshot().requests_refused >= u64::from(slow.slowdown));

    // Back to normal: the guard lets go and nothing is refused any more.
    let _ = closed_loop(&engine, 64, Duration::from_millis(40), 3).await;
    assert!(!engine.snapshot().slowdown_shedding);
    let after = closed_loop(&engine, 64, Duration::from_millis(40), 3).await;
    assert_eq!((after.slowdown, after.other), (0, 0), "{after:?}");
}

#[tokio::test(start_paused = true)]
async fn more_clients_are_not_shed_as_a_slowdown() {
    let engine = Engine::builder().build().unwrap();
    let _ = closed_loop(&engine, 64, Duration::from_millis(40), 10).await;
    // Four times the clients: latency x4, throughput unchanged. Not a slowdown.
    let busy = closed_loop(&engine, 256, Duration::from_millis(160), 5).await;
    assert_eq!(busy.slowdown, 0, "{busy:?}");
    assert!(!engine.snapshot().slowdown_shedding);
}

/// During a slowdown a request admitted at the door has a latency budget (four times the
/// normal mean latency): a load that could not start before it, or is still waiting when it
/// runs out, is answered `Overloaded` with the reason "slowdown" instead of late.
#[tokio::test(start_paused = true)]
async fn during_a_slowdown_a_request_past_its_budget_is_answered_overloaded() {
    let engine = Engine::builder().build().unwrap();
    let (slow_fn, backend) = TestFn::new(
        "slow",
        Backend {
            latency: Duration::from_secs(1),
            ..Backend::default()
        },
    );
    let old = engine.admit_request().unwrap();
    let _ = closed_loop(&engine, 64, Duration::from_millis(40), 10).await;

    // Outside a slowdown an admitted request is never failed for its age: a 1 s call of a
    // request admitted 10 s ago is served.
    let loader = engine.loader(slow_fn.clone()).in_request(&old);
    assert_eq!(loader.load(1).await.unwrap(), Some(10));

    let _ = closed_loop(&engine, 64, Duration::from_millis(180), 2).await;
    assert!(engine.snapshot().slowdown_shedding);

    // The old request is far past its budget: its next load is refused at once.
    let loader = engine.loader(slow_fn.clone()).in_request(&old);
    let calls = backend.calls().len();
    match loader.load(2).await {
        Err(LoadError::Overloaded {
            reason: "slowdown",
            retry_after,
        }) => assert!(retry_after >= Duration::from_millis(10)),
        other => panic!("expected Overloaded(slowdown), got {other:?}"),
    }
    assert_eq!(backend.calls().len(), calls, "a refused load costs no call");

    // A new request's load waits for a 1 s call: it is answered at the budget, 160 ms
    // (4 x the normal 40 ms), not after the call.
    let fresh = engine.admit_request().unwrap();
    let loader = engine.loader(slow_fn).in_request(&fresh);
    let started = tokio::time::Instant::now();
    let answer = loader.load(3).await;
    let waited = started.elapsed();
    assert!(
        matches!(
            answer,
            Err(LoadError::Overloaded {
                reason: "slowdown",
                ..
            })
        ),
        "{answer:?}"
    );
    assert!(
        (Duration::from_millis(150)..=Duration::from_millis(170)).contains(&waited),
        "answered after {waited:?}"
    );
}
