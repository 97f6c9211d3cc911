//! Fault: offered load at 5x what the database can serve (PostgreSQL, a deliberately small
//! pool and concurrency limit, open-loop arrivals).
//!
//! Measured and printed: the capacity found by a closed-loop calibration, what the open-loop
//! overload got (ok, `OVERLOADED`, timeouts) and how fast, `/healthz` latency throughout, and
//! resident memory. Asserted: excess requests are refused with `OVERLOADED` (not queued
//! until they time out), `/healthz` stays responsive (generous bound: 1 s; the figure goes to
//! RELIABILITY.md), memory stays bounded, and nothing is leaked afterwards.

mod faults_common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use faults_common::{
    RunningServer, Seen, bound, drained, medium_plan, outcome_counts, percentiles_ms, pool_idle,
    post_graphql, rss_kib, scaled,
};
use serde_json::json;
use server::config::Settings;
use tokio::sync::Semaphore;

const QUERY: &str = "query($id: ID!) { user(id: $id) { name posts(first: 10) { title comments(first: 5) { body author { name } } tags { name } } } }";

fn user_id(n: u64) -> serde_json::Value {
    json!({ "id": (n.wrapping_mul(2_654_435_761) % 200 + 1).to_string() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_at_five_times_capacity_sheds_promptly_and_health_stays_responsive() {
    let url = test_support::pg_or_skip!();
    let mut settings = Settings::for_database(&url);
    settings.database_max_connections = 2;
    settings.loader.loader_min_concurrency = 1;
    settings.loader.loader_initial_concurrency = 2;
    settings.loader.loader_max_concurrency = 2;
    settings.loader.loader_queue_capacity = 64;
    settings.loader.loader_max_queue_wait_ms = 100;
    settings.limits.request_timeout_ms = 2_000;
    let request_timeout = Duration::from_millis(settings.limits.request_timeout_ms);
    let server = RunningServer::start(settings, medium_plan()).await;
    let gql = server.url("/graphql");
    let client = reqwest::Client::builder()
        .timeout(request_timeout + Duration::from_secs(5))
        .build()
        .unwrap();
    let origin = Instant::now();
    let rss_start = rss_kib();

    // Calibration: what the database serves with 8 closed-loop clients.
    let calibrate = scaled(Duration::from_millis(1_500));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for c in 0..8_u64 {
        let (client, url, stop) = (client.clone(), gql.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let mut ok = 0_u64;
            let mut n = c * 1_000;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                ok += u64::from(
                    post_graphql(&client, &url, QUERY, user_id(n), origin)
                        .await
                        .ok(),
                );
            }
            ok
        }));
    }
    tokio::time::sleep(calibrate).await;
    stop.store(true, Ordering::Relaxed);
    let mut ok = 0;
    for w in workers {
        ok += w.await.unwrap();
    }
    let capacity = ok as f64 / calibrate.as_secs_f64();
    assert!(capacity > 0.0, "the calibration served requests");

    // Overload: open-loop arrivals at 5x that, with /healthz probed alongside.
    let rate = capacity * 5.0;
    let overload = scaled(Duration::from_secs(3));
    let stop = Arc::new(AtomicBool::new(false));
    let health = {
        let (url, stop) = (server.url("/healthz"), stop.clone());
        let probe = reqwest::Client::new();
        tokio::spawn(async move {
            let mut took = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let start = Instant::now();
                let status = probe.get(&url).send().await.map(|r| r.status().as_u16());
                assert_eq!(
                    status.ok(),
                    Some(200),
                    "/healthz answers during the overload"
                );
                took.push(start.elapsed());
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            took
        })
    };
    let peak_rss = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut peak = 0;
            while !stop.load(Ordering::Relaxed) {
                peak = peak.max(rss_kib());
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            peak
        })
    };
    let outstanding = Arc::new(Semaphore::new(4_000));
    let not_sent = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Seen>();
    let start = Instant::now();
    let mut issued = 0_u64;
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    while start.elapsed() < overload {
        tick.tick().await;
        let due = (start.elapsed().as_secs_f64() * rate) as u64;
        while issued < due {
            issued += 1;
            let Ok(permit) = outstanding.clone().try_acquire_owned() else {
                not_sent.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            let (client, url, tx) = (client.clone(), gql.clone(), tx.clone());
            let n = issued;
            tokio::spawn(async move {
                let seen = post_graphql(&client, &url, QUERY, user_id(n), origin).await;
                let _ = tx.send(seen);
                drop(permit);
            });
        }
    }
    drop(tx);
    let mut seen = Vec::new();
    while let Some(s) = rx.recv().await {
        seen.push(s);
    }
    stop.store(true, Ordering::Relaxed);
    let health = health.await.unwrap();
    let peak_rss = peak_rss.await.unwrap();
    let drain = drained(server.engine(), Duration::from_secs(5)).await;
    let pool = pool_idle(server.db(), Duration::from_secs(5)).await;
    let rss_end = rss_kib();

    let overloaded: Vec<Duration> = seen
        .iter()
        .filter(|s| s.codes().iter().any(|c| c == "OVERLOADED"))
        .map(|s| s.took)
        .collect();
    let ok_took: Vec<Duration> = seen.iter().filter(|s| s.ok()).map(|s| s.took).collect();
    let (h50, h99, hmax) = percentiles_ms(&health);
    let (o50, o99, omax) = percentiles_ms(&overloaded);
    let (k50, k99, kmax) = percentiles_ms(&ok_took);
    let ok_rate = ok_took.len() as f64 / overload.as_secs_f64();
    println!(
        "[fault] overload: capacity {capacity:.0} req/s (8 clients, pool 2, limit 2); offered {rate:.0} req/s for {:.1} s: {} sent, {} not sent (client cap), {:?}",
        overload.as_secs_f64(),
        seen.len(),
        not_sent.load(Ordering::Relaxed),
        outcome_counts(&seen)
    );
    println!(
        "[fault] overload: ok {ok_rate:.0} req/s, ok latency p50 {k50:.0} ms p99 {k99:.0} ms max {kmax:.0} ms; OVERLOADED answered in p50 {o50:.1} ms p99 {o99:.1} ms max {omax:.1} ms"
    );
    println!(
        "[fault] overload: /healthz {} probes p50 {h50:.1} ms p99 {h99:.1} ms max {hmax:.1} ms",
        health.len()
    );
    println!(
        "[fault] overload: RSS {} MiB at start, {} MiB peak, {} MiB after (delta {:+} MiB); engine drained {drain:?}; pool {pool:?}",
        rss_start / 1024,
        peak_rss / 1024,
        rss_end / 1024,
        (peak_rss as i64 - rss_start as i64) / 1024
    );
    assert!(
        !overloaded.is_empty(),
        "excess requests are refused with OVERLOADED"
    );
    let prompt = bound(Duration::from_secs(1), Duration::from_secs(10)).as_secs_f64() * 1e3;
    assert!(o50 < prompt, "OVERLOADED comes promptly (p50 {o50} ms)");
    assert!(hmax < prompt, "/healthz stays responsive (max {hmax} ms)");
    assert!(
        seen.iter().all(|s| s.status.is_some()),
        "every request got an HTTP answer"
    );
    assert!(
        seen.iter()
            .all(|s| s.took
                < request_timeout + bound(Duration::from_secs(2), Duration::from_secs(5))),
        "nothing waits past the request timeout"
    );
    assert!(
        peak_rss.saturating_sub(rss_start) < 512 * 1024,
        "memory stays bounded ({} MiB growth)",
        (peak_rss - rss_start) / 1024
    );
    drain.expect("in-flight and queued back to zero");
    pool.expect("every pool connection idle again");
    server.stop().await;
}
