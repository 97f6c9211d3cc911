//! The live dashboard in a real headless Chromium: a real engine under real load behind a
//! real HTTP server; the page must fetch the history, draw its charts and list the groups.
//! The screenshot is saved to `target/test-artifacts/dashboard.png`.
//!
//! Needs Debian's `chromium` (`apt-get install -y chromium`). Without it the test skips
//! through `test_support::skip_missing` (a loud banner; a failure when `CI` is set).

use std::{
    collections::HashMap,
    convert::Infallible,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use axum::{Router, body::Body, http::Request};
use loader_core::{BatchFn, Engine, QueryGroup};
use observability::dashboard::Dashboard;
use tokio::{net::TcpListener, process::Command, task::JoinSet};
use tower::ServiceExt;

/// A downstream that takes a few milliseconds per call, a little more for bigger batches.
struct SlowLookup {
    group: &'static str,
}

impl BatchFn for SlowLookup {
    type Key = u64;
    type Value = u64;
    type Error = Infallible;

    fn group(&self) -> QueryGroup {
        QueryGroup::new(self.group)
    }

    async fn load(&self, keys: &[u64]) -> Result<HashMap<u64, u64>, Infallible> {
        tokio::time::sleep(Duration::from_millis(3 + keys.len() as u64 / 8)).await;
        Ok(keys.iter().map(|k| (*k, k + 1)).collect())
    }
}

/// Keeps 48 concurrent "requests" running against two query groups until aborted.
fn start_load(engine: Engine) -> JoinSet<()> {
    let next_key = Arc::new(AtomicU64::new(0));
    let mut workers = JoinSet::new();
    for worker in 0..48 {
        let engine = engine.clone();
        let next_key = next_key.clone();
        let group = if worker % 3 == 0 {
            "posts.by_author"
        } else {
            "users.by_id"
        };
        workers.spawn(async move {
            loop {
                // One loader per request, as the server does (per-request cache).
                let loader = engine.loader(SlowLookup { group });
                let key = next_key.fetch_add(1, Ordering::Relaxed) % 5_000;
                let _ = loader.load_many([key, key + 1, key + 2]).await;
            }
        });
    }
    workers
}

/// Runs headless Chromium on `url` with `extra` arguments; returns its stdout.
async fn run_chromium(chromium: &Path, profile: &Path, url: &str, extra: &[&str]) -> String {
    let mut command = Command::new(chromium);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--hide-scrollbars",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(90), command.output())
        .await
        .expect("chromium finishes within 90 s")
        .expect("chromium starts");
    assert!(
        output.status.success(),
        "chromium failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("DOM is UTF-8")
}

/// The value of `attr` in the start tag of the element with `id`.
fn attribute(dom: &str, id: &str, attr: &str) -> Option<String> {
    let at = dom.find(&format!("id=\"{id}\""))?;
    let tag_start = dom[..at].rfind('<')?;
    let tag_end = at + dom[at..].find('>')?;
    let tag = &dom[tag_start..tag_end];
    let key = format!("{attr}=\"");
    let value_start = tag.find(&key)? + key.len();
    let value_len = tag[value_start..].find('"')?;
    Some(tag[value_start..value_start + value_len].to_owned())
}

fn count(dom: &str, id: &str, attr: &str) -> usize {
    attribute(dom, id, attr)
        .unwrap_or_else(|| panic!("no {attr} on #{id} in the DOM:\n{dom}"))
        .parse()
        .unwrap_or_else(|_| panic!("{attr} of #{id} is not a number"))
}

/// Waits until the server's history holds at least `points` samples showing both groups.
async fn history_filled(dashboard: &Router, points: usize) {
    for _ in 0..300 {
        let response = dashboard
            .clone()
            .oneshot(Request::get("/dashboard/data").body(Body::empty()).unwrap())
            .await
            .unwrap();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let data: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let with_both_groups = data["points"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["groups"].as_object().unwrap().len() == 2)
            .count();
        if with_both_groups >= points {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the dashboard history never reached {points} samples of 2 groups");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_draws_live_charts_of_every_group_in_headless_chromium() {
    let Some(chromium) = test_support::chromium_or_skip(module_path!()) else {
        return;
    };

    let engine = Engine::builder()
        .batch_delay(Duration::from_millis(2))
        .build()
        .expect("valid engine config");
    let load = start_load(engine.clone());
    let dashboard: Router = Dashboard::new()
        .sample_interval(Duration::from_millis(200))
        .router(engine.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/dashboard", listener.local_addr().unwrap());
    let app = dashboard.clone();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    history_filled(&dashboard, 8).await;

    let profile = tempfile::tempdir().unwrap();
    let dom = run_chromium(&chromium, profile.path(), &url, &["--dump-dom"]).await;

    // The page fetched the history and drew every engine chart from it.
    let samples = count(&dom, "engine-concurrency", "data-points");
    assert!(samples >= 8, "engine chart drew {samples} samples");
    for chart in ["engine-throughput", "engine-p99", "engine-queued"] {
        assert!(count(&dom, chart, "data-points") >= 8, "{chart}");
    }
    let limit: f64 = attribute(&dom, "engine-concurrency", "data-last")
        .unwrap()
        .parse()
        .expect("the limit chart's last value is a number");
    assert!(limit >= 1.0, "the limit is at least 1, got {limit}");
    let throughput: f64 = attribute(&dom, "engine-throughput", "data-last")
        .unwrap()
        .parse()
        .unwrap();
    assert!(throughput > 0.0, "the load shows as throughput");

    // One panel per query group, each with its three charts filled.
    assert_eq!(attribute(&dom, "groups", "id").as_deref(), Some("groups"));
    for group in ["users_by_id", "posts_by_author"] {
        for chart in ["concurrency", "throughput", "p99"] {
            let id = format!("group-{group}-{chart}");
            assert!(count(&dom, &id, "data-points") >= 8, "{id}");
        }
    }
    assert!(dom.contains("users.by_id") && dom.contains("posts.by_author"));
    assert!(dom.contains("live ·"), "status line says live");
    assert!(attribute(&dom, "limit-changes", "data-count").is_some());

    // A screenshot for people, kept as a test artifact.
    let png = test_support::artifacts_dir().join("dashboard.png");
    let _ = std::fs::remove_file(&png);
    run_chromium(
        &chromium,
        profile.path(),
        &url,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1200,900",
        ],
    )
    .await;
    let size = std::fs::metadata(&png).expect("screenshot written").len();
    assert!(
        size > 20_000,
        "a screenshot with charts is not {size} bytes"
    );
    test_support::announce_artifact("dashboard screenshot", &png);

    drop(load);
    server.abort();
}
