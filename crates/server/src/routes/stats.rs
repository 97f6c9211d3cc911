//! `GET /loader/stats`: the loader engine's snapshot (limit, in-flight, queue, per query
//! group throughput, latency, batch sizes, costs, recent limit changes) as JSON.

use axum::{Json, extract::State, response::IntoResponse};

use crate::state::AppState;

/// The engine's current snapshot.
pub async fn loader_stats(State(state): State<AppState>) -> impl IntoResponse {
    Json(state.engine.snapshot())
}
