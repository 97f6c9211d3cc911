//! The door sheds new requests while the downstream is much slower than normal, and lets go
//! when it recovers (`Engine::admit_request`, `slowdown.rs`).

use std::{collections::VecDeque, time::Duration};

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
