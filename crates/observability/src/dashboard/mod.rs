//! The live loader dashboard: `GET /dashboard`.
//!
//! A self-contained page (HTML, vanilla JavaScript and hand-drawn canvas charts; no build
//! step, no CDN) that shows, for the engine and for each query group, the concurrency
//! limit, in-flight batches, throughput and p99 latency over the last minutes, and the
//! reasons of the last limit changes. It polls `GET /dashboard/data` every second.
//!
//! The server keeps a short history ([`SnapshotHistory`], by default one point per second
//! for five minutes), sampled by a background task, so a page opened in the middle of a
//! load test shows what happened before.
//!
//! | route | content |
//! |---|---|
//! | `GET /dashboard` | the page |
//! | `GET /dashboard/app.js` | its script |
//! | `GET /dashboard/data?since=<seq>` | JSON: `snapshot` (the engine's [`Snapshot`](loader_core::Snapshot) now), `points` (history points with `seq` greater than `since`), `interval_ms`, `capacity` |
//!
//! # Examples
//!
//! ```no_run
//! # async fn wire(engine: loader_core::Engine) {
//! // Inside the Tokio runtime: the router starts its sampling task.
//! let app: axum::Router = observability::dashboard::dashboard_router(engine);
//! # }
//! ```

mod history;
mod router;

pub use history::{GroupPoint, HistoryPoint, SnapshotHistory};
pub use router::{Dashboard, dashboard_router};
