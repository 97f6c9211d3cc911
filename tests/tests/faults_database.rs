//! Faults of the database under a running server (PostgreSQL):
//! - killed mid-load (`pg_ctl stop -m immediate`) and restarted about 2 s later;
//! - slowed by a transaction holding `ACCESS EXCLUSIVE` on `users`.
//!
//! Each test prints what it did and the figures (`--nocapture`), and asserts that nothing was
//! lost: no acknowledged write missing or applied twice, no permit, queue slot or pool
//! connection leaked, no request held past the request timeout.
//! `CHAOS_SCALE=10` (the `just chaos` recipe) makes the phases ten times longer.

mod faults_common;

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use faults_common::{
    RunningServer, Seen, bound, drained, outcome_counts, percentiles_ms, pool_idle, post_graphql,
    post_graphql_as, scaled,
};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement, TransactionTrait};
use serde_json::json;
use server::{config::Settings, seed::SeedPlan};
use test_support::{PgCluster, skip_unless_installed};

const CREATE_POST: &str =
    "mutation($input: CreatePostInput!) { createPost(input: $input) { id title } }";
const READ_POST: &str = "query($id: ID!) { post(id: $id) { title author { name } comments(first: 3) { body author { name } } tags { name } } }";

/// Runs `READ_POST` in a loop until `stop`, over posts 1..=40 (the small seed).
fn spawn_reader(
    client: reqwest::Client,
    url: String,
    origin: Instant,
    stop: Arc<AtomicBool>,
    offset: i64,
) -> tokio::task::JoinHandle<Vec<Seen>> {
    tokio::spawn(async move {
        let mut seen = Vec::new();
        let mut n = offset;
        while !stop.load(Ordering::Relaxed) {
            n += 1;
            let id = n % 40 + 1;
            seen.push(
                post_graphql(
                    &client,
                    &url,
                    READ_POST,
                    json!({ "id": id.to_string() }),
                    origin,
                )
                .await,
            );
        }
        seen
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_killed_mid_load_loses_no_acknowledged_write() {
    let Some(cluster) = skip_unless_installed(
        tokio::task::spawn_blocking(PgCluster::start).await.unwrap(),
        module_path!(),
    ) else {
        return;
    };
    let cluster = Arc::new(cluster);
    let url = cluster.create_database("crash").unwrap();
    let mut settings = Settings::for_database(&url);
    settings.limits.request_timeout_ms = 2_000;
    settings.loader.loader_batch_timeout_ms = 1_000;
    settings.database_max_connections = 8;
    let request_timeout = Duration::from_millis(settings.limits.request_timeout_ms);
    let server = RunningServer::start(settings, SeedPlan::small(42)).await;
    let gql = server.url("/graphql");
    // The client gives up well after the server's own timeout: a client time-out is a hang.
    let client = reqwest::Client::builder()
        .timeout(request_timeout + Duration::from_secs(5))
        .build()
        .unwrap();
    let origin = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));

    let mut writers = Vec::new();
    // Each writer posts as the 12 seed users in turn, with a token of each.
    let tokens: Arc<Vec<String>> = Arc::new((1..=12).map(|user| server.token(user)).collect());
    for w in 0..6_i64 {
        let (client, url, stop) = (client.clone(), gql.clone(), stop.clone());
        let tokens = tokens.clone();
        writers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut seq = 0_i64;
            while !stop.load(Ordering::Relaxed) {
                seq += 1;
                let title = format!("crash-w{w}-{seq}");
                let input = json!({ "input": {
                    "title": title,
                    "body": format!("unique payload {w}/{seq}"),
                }});
                let token = &tokens[((w + seq) % 12) as usize];
                seen.push((
                    title,
                    post_graphql_as(&client, &url, Some(token), CREATE_POST, input, origin).await,
                ));
            }
            seen
        }));
    }
    let readers: Vec<_> = (0..4)
        .map(|r| spawn_reader(client.clone(), gql.clone(), origin, stop.clone(), r * 10))
        .collect();
    let ready_probe = {
        let (client, url, stop) = (client.clone(), server.url("/readyz"), stop.clone());
        tokio::spawn(async move {
            let mut points = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let at = origin.elapsed();
                let status = client
                    .get(&url)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .ok();
                points.push((at, status));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            points
        })
    };

    tokio::time::sleep(scaled(Duration::from_millis(1_500))).await;
    let t_kill = origin.elapsed();
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.stop_immediate())
        .await
        .unwrap()
        .expect("pg_ctl stop -m immediate");
    let t_killed = origin.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let t_restart = origin.elapsed();
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.restart())
        .await
        .unwrap()
        .expect("the cluster restarts");
    let t_restarted = origin.elapsed();
    tokio::time::sleep(scaled(Duration::from_secs(3))).await;
    stop.store(true, Ordering::Relaxed);

    let mut writes = Vec::new();
    for w in writers {
        writes.extend(w.await.unwrap());
    }
    let mut reads = Vec::new();
    for r in readers {
        reads.extend(r.await.unwrap());
    }
    let ready = ready_probe.await.unwrap();

    // --- What the database holds, against what the server acknowledged.
    let check = Database::connect(&url).await.unwrap();
    let rows = check
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT id, title FROM posts WHERE title LIKE 'crash-w%'",
        ))
        .await
        .unwrap();
    let mut in_db: HashMap<String, Vec<i64>> = HashMap::new();
    for row in rows {
        let id: i64 = row.try_get("", "id").unwrap();
        let title: String = row.try_get("", "title").unwrap();
        in_db.entry(title).or_default().push(id);
    }
    let attempted: HashMap<&str, &Seen> = writes.iter().map(|(t, s)| (t.as_str(), s)).collect();
    let mut acked = 0;
    let mut missing = Vec::new();
    for (title, seen) in &writes {
        if seen.ok() {
            acked += 1;
            let id: i64 = seen.json["data"]["createPost"]["id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("an acknowledged post has an id");
            if in_db.get(title).is_none_or(|ids| !ids.contains(&id)) {
                missing.push(title.clone());
            }
        }
    }
    let duplicated: Vec<_> = in_db.iter().filter(|(_, ids)| ids.len() > 1).collect();
    let phantom: Vec<_> = in_db
        .keys()
        .filter(|t| !attempted.contains_key(t.as_str()))
        .collect();
    let in_doubt_applied = writes
        .iter()
        .filter(|(t, s)| !s.ok() && in_db.contains_key(t))
        .count();

    // --- Figures.
    let phase = |s: &Seen| {
        if s.at < t_kill {
            "before"
        } else if s.at < t_restarted {
            "outage"
        } else {
            "after"
        }
    };
    let mut by_phase: BTreeMap<(&str, &str), Vec<Seen>> = BTreeMap::new();
    for (_, s) in &writes {
        by_phase
            .entry(("write", phase(s)))
            .or_default()
            .push(s.clone());
    }
    for s in &reads {
        by_phase
            .entry(("read", phase(s)))
            .or_default()
            .push(s.clone());
    }
    println!(
        "[fault] crash: killed at {:.2} s (stop took {:.0} ms), restart at {:.2} s, accepting again at {:.2} s, run ended at {:.2} s",
        t_kill.as_secs_f64(),
        (t_killed - t_kill).as_secs_f64() * 1e3,
        t_restart.as_secs_f64(),
        t_restarted.as_secs_f64(),
        origin.elapsed().as_secs_f64()
    );
    for ((kind, ph), seen) in &by_phase {
        let took: Vec<Duration> = seen.iter().map(|s| s.took).collect();
        let (p50, p99, max) = percentiles_ms(&took);
        println!(
            "[fault] crash: {kind:5} {ph:6} n={:5} p50 {p50:7.1} ms p99 {p99:7.1} ms max {max:7.1} ms  {:?}",
            seen.len(),
            outcome_counts(seen)
        );
    }
    let first_unready = ready
        .iter()
        .find(|(at, st)| *at >= t_kill && *st != Some(200))
        .map(|(at, _)| *at);
    let ready_again = ready
        .iter()
        .find(|(at, st)| *at >= t_restarted && *st == Some(200))
        .map(|(at, _)| *at);
    let first_ok_read = reads
        .iter()
        .filter(|s| s.at >= t_restarted && s.ok())
        .map(|s| s.at + s.took)
        .min();
    let tail_from = t_restarted + scaled(Duration::from_millis(1_500));
    let tail: Vec<&Seen> = reads.iter().filter(|s| s.at >= tail_from).collect();
    let tail_ok = tail.iter().filter(|s| s.ok()).count();
    println!(
        "[fault] crash: /readyz unready {:?} after the kill, ready {:?} after the restart; first ok read {:?} after the restart; reads from +1.5 s after restart: {tail_ok}/{} ok",
        first_unready.map(|t| t.saturating_sub(t_kill)),
        ready_again.map(|t| t.saturating_sub(t_restarted)),
        first_ok_read.map(|t| t.saturating_sub(t_restarted)),
        tail.len()
    );
    println!(
        "[fault] crash: writes attempted {}, acknowledged {acked}, acknowledged but missing {}, applied twice {}, unknown rows {}, failed-but-applied (in doubt, allowed) {in_doubt_applied}",
        writes.len(),
        missing.len(),
        duplicated.len(),
        phantom.len()
    );

    // --- Nothing lost, nothing doubled, nothing hung.
    assert!(acked > 0, "some writes were acknowledged");
    assert!(
        missing.is_empty(),
        "acknowledged writes missing after the crash: {missing:?}"
    );
    assert!(
        duplicated.is_empty(),
        "writes applied twice: {duplicated:?}"
    );
    assert!(phantom.is_empty(), "rows nobody asked for: {phantom:?}");
    let all: Vec<&Seen> = writes.iter().map(|(_, s)| s).chain(reads.iter()).collect();
    let hung: Vec<_> = all.iter().filter(|s| s.status.is_none()).collect();
    assert!(
        hung.is_empty(),
        "requests without an HTTP answer: {:?}",
        hung.first()
    );
    let slowest = all.iter().map(|s| s.took).max().unwrap();
    assert!(
        slowest < request_timeout + bound(Duration::from_secs(2), Duration::from_secs(5)),
        "a request took {slowest:?}, past the {request_timeout:?} request timeout"
    );
    for s in all.iter().filter(|s| !s.ok()) {
        let codes = s.codes();
        assert!(
            !codes.is_empty() && codes.iter().all(|c| !c.is_empty()),
            "a failed request must carry a GraphQL error code: {}",
            s.json
        );
    }
    // The outage reached the clients: some request that started while the database was down
    // failed (with a code, checked above). Reads alone need not show it: the few that start
    // in the outage may wait for a permit until the restart and then be answered.
    let outage = |kind| {
        by_phase
            .get(&(kind, "outage"))
            .map_or(&[][..], Vec::as_slice)
    };
    assert!(
        outage("write")
            .iter()
            .chain(outage("read"))
            .any(|s| !s.ok()),
        "requests failed while the database was down"
    );
    assert!(
        first_unready.is_some(),
        "/readyz went unready after the kill"
    );
    assert!(
        ready_again.is_some(),
        "/readyz was ready again after the restart"
    );
    assert!(
        first_ok_read.is_some(),
        "reads recovered without a server restart"
    );
    drained(server.engine(), Duration::from_secs(5))
        .await
        .expect("no permit or queue slot leaked");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_database_times_out_batches_and_leaks_nothing() {
    let url = test_support::pg_or_skip!();
    let mut settings = Settings::for_database(&url);
    settings.limits.request_timeout_ms = 3_000;
    settings.loader.loader_batch_timeout_ms = 300;
    settings.loader.loader_max_concurrency = 8;
    settings.database_max_connections = 8;
    let server = RunningServer::start(settings, SeedPlan::small(42)).await;
    let gql = server.url("/graphql");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let origin = Instant::now();
    let query = "query($id: ID!) { post(id: $id) { title author { name } } }";
    for id in 1..=10 {
        let s = post_graphql(
            &client,
            &gql,
            query,
            json!({ "id": id.to_string() }),
            origin,
        )
        .await;
        assert!(s.ok(), "warm-up read: {}", s.json);
    }
    let limit_before = server.engine().limit();

    // A transaction holding the lock every `author` batch needs.
    let locker = Database::connect(&url).await.unwrap();
    let txn = locker.begin().await.unwrap();
    txn.execute_unprepared("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let t_locked = origin.elapsed();
    let stop = Arc::new(AtomicBool::new(false));
    let limits = {
        let (engine, stop) = (server.engine().clone(), stop.clone());
        tokio::spawn(async move {
            let mut min = usize::MAX;
            while !stop.load(Ordering::Relaxed) {
                min = min.min(engine.limit());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            min
        })
    };
    let mut clients = Vec::new();
    for c in 0..16_i64 {
        let (client, url, stop) = (client.clone(), gql.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut n = c;
            while !stop.load(Ordering::Relaxed) {
                n += 3;
                let s = post_graphql(
                    &client,
                    &url,
                    query,
                    json!({ "id": (n % 40 + 1).to_string() }),
                    origin,
                )
                .await;
                seen.push(s);
            }
            seen
        }));
    }
    tokio::time::sleep(scaled(Duration::from_millis(1_500))).await;
    stop.store(true, Ordering::Relaxed);
    let mut during = Vec::new();
    for c in clients {
        during.extend(c.await.unwrap());
    }
    let min_limit = limits.await.unwrap();
    let snapshot = server.engine().snapshot();
    txn.rollback().await.unwrap();
    let t_released = origin.elapsed();

    let drain = drained(server.engine(), Duration::from_secs(5)).await;
    let pool = pool_idle(server.db(), Duration::from_secs(5)).await;
    let mut after = Vec::new();
    for id in 1..=20 {
        after.push(
            post_graphql(
                &client,
                &gql,
                query,
                json!({ "id": id.to_string() }),
                origin,
            )
            .await,
        );
    }
    let took: Vec<Duration> = during.iter().map(|s| s.took).collect();
    let (p50, p99, max) = percentiles_ms(&took);
    println!(
        "[fault] slow: users locked for {:.0} ms; {} requests meanwhile: {:?}; latency p50 {p50:.0} ms p99 {p99:.0} ms max {max:.0} ms",
        (t_released - t_locked).as_secs_f64() * 1e3,
        during.len(),
        outcome_counts(&during)
    );
    println!(
        "[fault] slow: engine while locked: batch timeouts {}, errors {}, shed {}; limit {limit_before} before, lowest {min_limit} while locked, {} after",
        snapshot.total.timeouts,
        snapshot.total.errors,
        snapshot.total.shed,
        server.engine().limit()
    );
    println!(
        "[fault] slow: after release: engine drained {drain:?}; pool (size, idle) {pool:?}; {} of {} reads ok",
        after.iter().filter(|s| s.ok()).count(),
        after.len()
    );
    let timed_out = during
        .iter()
        .filter(|s| s.codes().iter().any(|c| c == "TIMEOUT"))
        .count();
    assert!(
        timed_out > 0,
        "waiters got TIMEOUT errors: {:?}",
        outcome_counts(&during)
    );
    assert!(snapshot.total.timeouts > 0, "per-batch timeouts fired");
    assert!(
        max < 3_000.0 + bound(Duration::from_secs(2), Duration::from_secs(5)).as_secs_f64() * 1e3,
        "no request waits past the request timeout ({max} ms)"
    );
    drain.expect("in-flight and queued back to zero");
    pool.expect("every pool connection idle again");
    assert!(
        after.iter().all(Seen::ok),
        "reads succeed once the lock is gone"
    );
    server.stop().await;
}
