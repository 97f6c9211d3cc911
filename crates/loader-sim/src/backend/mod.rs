//! The simulated downstream: a processor-sharing queue with an overload penalty, whose
//! best concurrency is known (its capacity).
//!
//! - [`ProcessorSharing`] (`model.rs`) is the pure model: calls, rates, completions.
//! - [`SimBackend`] (`service.rs`) runs it as a task on tokio's clock and hands out
//!   [`SimBatch`], the [`BatchFn`](loader_core::BatchFn) the engine calls.
//! - [`stall_speed`] (`stall.rs`) draws the spells in which a stalling host slows every
//!   call, whatever the load.

mod model;
mod service;
mod stall;

pub use model::{Completion, ProcessorSharing, backend_speed, call_rate};
pub use service::{BackendFailure, SimBackend, SimBatch};
pub use stall::stall_speed;
