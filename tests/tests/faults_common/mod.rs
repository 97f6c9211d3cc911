//! Shared by the fault tests (`faults_*.rs`, `bad_input.rs`, `fuzz_router.rs`): a real server
//! on a real database, an HTTP client that records what it saw, and the figures the tests
//! print.
//!
//! Every test binary uses a different part of this module.
#![allow(dead_code)]

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use loader_core::Engine;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde_json::Value;
use server::{
    AppState, Application,
    config::Settings,
    database,
    seed::{self, SeedPlan},
};
use tokio::sync::oneshot;

/// The multiplier of durations and counts: `CHAOS_SCALE` (default 1; `just chaos` uses 10).
pub fn scale() -> f64 {
    std::env::var("CHAOS_SCALE")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .unwrap_or(1.0)
}

/// Whether the tight timing bounds are asserted: `CHAOS_TIMING=1` (set by `just chaos`).
///
/// Timed assertions fail on an overloaded machine, so `cargo test` asserts only loose
/// liveness bounds (an answer within seconds) and prints the measured figures; the tight
/// bounds (e.g. `/healthz` under 1 s during a 5x overload) are checked in the chaos run.
pub fn timing_strict() -> bool {
    std::env::var("CHAOS_TIMING").is_ok_and(|v| v == "1")
}

/// The bound to assert: `strict` with [`timing_strict`], else `loose`.
pub fn bound(strict: Duration, loose: Duration) -> Duration {
    if timing_strict() { strict } else { loose }
}

/// `base` times [`scale`].
pub fn scaled(base: Duration) -> Duration {
    base.mul_f64(scale())
}

/// `base` times [`scale`], at least 1.
pub fn scaled_count(base: usize) -> usize {
    ((base as f64) * scale()).round().max(1.0) as usize
}

/// A seed plan a little larger than `SeedPlan::small`, so nested queries cost something.
pub fn medium_plan() -> SeedPlan {
    SeedPlan {
        users: 200,
        posts: 2_000,
        comments: 8_000,
        tags: 20,
        follows: 1_000,
        seed: 7,
    }
}

/// A server serving HTTP on loopback in this process (the real `Application`), on its own
/// tokio runtime in its own thread, so the test's clients do not share its scheduler (as
/// they would not in production).
pub struct RunningServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its state: the engine, the pool, the settings.
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningServer {
    /// Opens the database, migrates, seeds `plan`, builds the [`Application`] and serves it
    /// on a 2-worker runtime of its own.
    pub async fn start(mut settings: Settings, plan: SeedPlan) -> Self {
        settings.limits.shutdown_grace_ms = settings.limits.shutdown_grace_ms.min(2_000);
        let (ready_tx, ready_rx) = oneshot::channel::<(SocketAddr, AppState)>();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("server-under-test".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("server-worker")
                    .enable_all()
                    .build()
                    .expect("a runtime for the server");
                runtime.block_on(async move {
                    let db = database::connect(&settings)
                        .await
                        .expect("the database opens");
                    database::migrate(&db).await.expect("migrations apply");
                    seed::run(&db, plan, false).await.expect("seeding works");
                    settings.no_migrate = true;
                    settings.no_demo_data = true;
                    let app = Application::build_with_db(settings, db)
                        .await
                        .expect("the application builds");
                    let _ = ready_tx.send((app.local_addr(), app.state().clone()));
                    app.run_until(async move {
                        let _ = stop_rx.await;
                    })
                    .await
                    .expect("the server runs");
                });
            })
            .expect("a thread for the server");
        let (addr, state) = ready_rx.await.expect("the server starts");
        Self {
            addr,
            state,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// `http://addr{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The server's loader engine.
    pub fn engine(&self) -> &Engine {
        &self.state.engine
    }

    /// The server's connection pool.
    pub fn db(&self) -> &DatabaseConnection {
        &self.state.db
    }

    /// A bearer token for `user`, valid for an hour, signed with the server's secret.
    pub fn token(&self, user: i64) -> String {
        self.state
            .auth
            .mint(user, Duration::from_secs(3_600))
            .expect("the test settings carry a secret")
    }

    /// Stops serving (graceful shutdown) and waits for the server thread.
    pub async fn stop(mut self) {
        self.shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }

    fn shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        // The thread finishes on its own once in-flight requests are done.
        self.shutdown();
    }
}

/// Waits until the engine has no batch in flight and no load queued; `Err` with the last
/// `(in_flight, queued)` when `within` passes first. Polls every 10 ms (an observation of
/// the engine from outside, not a synchronisation).
pub async fn drained(engine: &Engine, within: Duration) -> Result<Duration, (usize, usize)> {
    let start = Instant::now();
    loop {
        let (in_flight, queued) = (engine.in_flight(), engine.queued());
        if in_flight == 0 && queued == 0 {
            return Ok(start.elapsed());
        }
        if start.elapsed() > within {
            return Err((in_flight, queued));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until every PostgreSQL pool connection is idle; `Err((size, idle))` on time-out.
pub async fn pool_idle(
    db: &DatabaseConnection,
    within: Duration,
) -> Result<(u32, usize), (u32, usize)> {
    let pool = db.get_postgres_connection_pool();
    let start = Instant::now();
    loop {
        let (size, idle) = (pool.size(), pool.num_idle());
        if idle == size as usize {
            return Ok((size, idle));
        }
        if start.elapsed() > within {
            return Err((size, idle));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Resident memory of this process, in KiB (Linux `/proc/self/statm`).
pub fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4
}

/// Established TCP connections whose local port is `port` (server side), from
/// `/proc/net/tcp` and `/proc/net/tcp6`.
pub fn established_connections(port: u16) -> usize {
    let port_hex = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .map(|text| {
            text.lines()
                .skip(1)
                .filter(|line| {
                    let cols: Vec<&str> = line.split_whitespace().collect();
                    cols.len() > 3 && cols[1].ends_with(&port_hex) && cols[3] == "01"
                })
                .count()
        })
        .sum()
}

/// Row counts of every forum table, in a fixed order.
pub async fn row_counts(db: &DatabaseConnection) -> Vec<(&'static str, i64)> {
    let mut counts = Vec::new();
    for table in ["users", "posts", "comments", "tags", "post_tags", "follows"] {
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count query runs")
            .expect("one row");
        let n: i64 = row.try_get("", "n").expect("a count");
        counts.push((table, n));
    }
    counts
}

/// One GraphQL response as a client saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// When the request was sent, since the test's start.
    pub at: Duration,
    /// How long until the whole response was read.
    pub took: Duration,
    /// HTTP status, or `None` for a transport failure or client-side time-out.
    pub status: Option<u16>,
    /// The body as JSON (`Null` when none or not JSON).
    pub json: Value,
    /// The transport error, if any.
    pub transport: Option<String>,
    /// The `Retry-After` header, if any.
    pub retry_after: Option<String>,
}

impl Seen {
    /// `extensions.code` of every error.
    pub fn codes(&self) -> Vec<String> {
        error_codes(&self.json)
    }

    /// Answered `200` without errors.
    pub fn ok(&self) -> bool {
        self.status == Some(200)
            && self.json.get("errors").is_none()
            && self.json.get("data").is_some()
    }
}

/// `extensions.code` of every error in a GraphQL response body.
pub fn error_codes(json: &Value) -> Vec<String> {
    json["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["extensions"]["code"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// `POST` a GraphQL request and record what came back.
pub async fn post_graphql(
    client: &reqwest::Client,
    url: &str,
    query: &str,
    variables: Value,
    origin: Instant,
) -> Seen {
    post_graphql_as(client, url, None, query, variables, origin).await
}

/// As [`post_graphql`], with `Authorization: Bearer <token>` when a token is given.
pub async fn post_graphql_as(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
    origin: Instant,
) -> Seen {
    let at = origin.elapsed();
    let start = Instant::now();
    let body = serde_json::json!({ "query": query, "variables": variables });
    let mut request = client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let sent = request.send().await;
    match sent {
        Ok(response) => {
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            match response.bytes().await {
                Ok(bytes) => Seen {
                    at,
                    took: start.elapsed(),
                    status: Some(status),
                    json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                    transport: None,
                    retry_after,
                },
                Err(e) => Seen {
                    at,
                    took: start.elapsed(),
                    status: Some(status),
                    json: Value::Null,
                    transport: Some(e.to_string()),
                    retry_after,
                },
            }
        }
        Err(e) => Seen {
            at,
            took: start.elapsed(),
            status: None,
            json: Value::Null,
            transport: Some(e.to_string()),
            retry_after: None,
        },
    }
}

/// Percentiles of durations, in milliseconds: `(p50, p99, max)`.
pub fn percentiles_ms(samples: &[Duration]) -> (f64, f64, f64) {
    if samples.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    (at(0.50), at(0.99), ms[ms.len() - 1])
}

/// Counts of each error code (and `ok`, `transport`) in responses.
pub fn outcome_counts(seen: &[Seen]) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for s in seen {
        let key = if s.ok() {
            "ok".to_string()
        } else if s.transport.is_some() {
            "transport".to_string()
        } else {
            let mut codes = s.codes();
            codes.sort();
            codes.dedup();
            if codes.is_empty() {
                format!("http {}", s.status.unwrap_or(0))
            } else {
                codes.join("+")
            }
        };
        *counts.entry(key).or_insert(0) += 1;
    }
    counts
}

/// A simple `SELECT` through a fresh connection (not the server's pool).
pub async fn scalar_i64(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(DbBackend::Postgres, sql.to_string()))
        .await
        .expect("query runs")
        .expect("one row");
    row.try_get_by_index::<i64>(0).expect("an integer")
}
