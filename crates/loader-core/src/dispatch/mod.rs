//! Running a batch (or one [`Run`] call) under the shared concurrency limit.
//!
//! A batch's task waits for its window to close, takes its turn for a permit, calls the
//! batch function under a timeout and a panic guard, feeds what the call cost to the limit
//! (`limit/`), the cost model (`batch/`) and the metrics (`metrics/`), and answers its
//! waiters.
//!
//! | file | what it decides |
//! |---|---|
//! | `drive.rs` | `run_batch`: the life of one batch, from its window to its answer |
//! | `permit.rs` | `ConcurrencyLimit`: the one limit every group shares, and its `Permit` |
//! | `scheduler.rs` | `FairQueue`: which waiting batch gets the next permit (round-robin by group) |
//! | `call.rs` | `call`: one guarded call of a batch function; `isolate`: split-and-retry |
//! | `run.rs` | [`Run`]: one call that is not a batch of keys, under the same limit |

mod call;
mod drive;
mod permit;
mod run;
mod scheduler;

pub use run::Run;

pub(crate) use call::{call, isolate, panic_message};
pub(crate) use drive::{CallGuard, Called, learn, run_batch};
pub(crate) use permit::{ConcurrencyLimit, Permit};
pub(crate) use scheduler::FairQueue;
