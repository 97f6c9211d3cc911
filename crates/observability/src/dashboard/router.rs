use std::{
    sync::{Arc, Weak},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    Json, Router,
    extract::{Query, State},
    http::header,
    response::{Html, IntoResponse},
    routing::get,
};
use loader_core::{Engine, Snapshot};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use super::{HistoryPoint, SnapshotHistory};

const PAGE: &str = include_str!("../../assets/dashboard.html");
const SCRIPT: &str = include_str!("../../assets/dashboard.js");

/// Options of the dashboard routes.
///
/// ```no_run
/// # async fn wire(engine: loader_core::Engine) {
/// use std::time::Duration;
/// use observability::dashboard::Dashboard;
///
/// let app: axum::Router = Dashboard::new()
///     .sample_interval(Duration::from_millis(500))
///     .history_len(1200)
///     .router(engine);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Dashboard {
    interval: Duration,
    capacity: usize,
}

impl Default for Dashboard {
    fn default() -> Self {
        Self::new()
    }
}

impl Dashboard {
    /// The default options.
    pub fn new() -> Self {
        Self {
            interval: Duration::from_secs(1),
            capacity: 300,
        }
    }

    /// How often the server samples the engine into its history.
    ///
    /// By default, this is one second.
    #[must_use]
    pub fn sample_interval(mut self, interval: Duration) -> Self {
        self.interval = interval.max(Duration::from_millis(10));
        self
    }

    /// How many samples the server keeps.
    ///
    /// By default, this is 300 (five minutes at one per second).
    #[must_use]
    pub fn history_len(mut self, points: usize) -> Self {
        self.capacity = points;
        self
    }

    /// The routes `/dashboard`, `/dashboard/app.js` and `/dashboard/data` for `engine`.
    ///
    /// Starts the sampling task on the current Tokio runtime (so call it inside one); the
    /// task stops when the last clone of the router is dropped. The router carries its own
    /// state, so it merges into a router of any state type.
    pub fn router<S>(&self, engine: Engine) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let history = Arc::new(Mutex::new(SnapshotHistory::new(self.capacity)));
        let sampler = tokio::spawn(sample(
            engine.clone(),
            Arc::downgrade(&history),
            self.interval,
        ));
        let state = DashboardState {
            engine,
            history,
            interval: self.interval,
            _sampler: Arc::new(SamplerTask(sampler)),
        };
        Router::new()
            .route("/dashboard", get(page))
            .route("/dashboard/app.js", get(script))
            .route("/dashboard/data", get(data))
            .with_state(state)
    }
}

/// The dashboard routes for `engine` with the default [`Dashboard`] options.
pub fn dashboard_router<S>(engine: Engine) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Dashboard::new().router(engine)
}

#[derive(Clone)]
struct DashboardState {
    engine: Engine,
    history: Arc<Mutex<SnapshotHistory>>,
    interval: Duration,
    _sampler: Arc<SamplerTask>,
}

/// Aborts the sampling task when the routes are gone.
struct SamplerTask(JoinHandle<()>);

impl Drop for SamplerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn sample(engine: Engine, history: Weak<Mutex<SnapshotHistory>>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        ticks.tick().await;
        let Some(history) = history.upgrade() else {
            return;
        };
        let snapshot = engine.snapshot();
        history.lock().record(&snapshot, now_ms());
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

async fn page() -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "no-cache")], Html(PAGE))
}

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        SCRIPT,
    )
}

#[derive(Debug, Deserialize)]
struct DataQuery {
    since: Option<u64>,
}

#[derive(Serialize)]
struct DataResponse {
    t_ms: u64,
    interval_ms: u64,
    capacity: usize,
    snapshot: Snapshot,
    points: Vec<HistoryPoint>,
}

async fn data(
    State(state): State<DashboardState>,
    Query(q): Query<DataQuery>,
) -> impl IntoResponse {
    let (points, capacity) = {
        let history = state.history.lock();
        (history.since(q.since), history.capacity())
    };
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(DataResponse {
            t_ms: now_ms(),
            interval_ms: state.interval.as_millis() as u64,
            capacity,
            snapshot: state.engine.snapshot(),
            points,
        }),
    )
}
