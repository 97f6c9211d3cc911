//! An adaptive dataloader engine: batching, deduplication and a self-scaling concurrency
//! limit shared by every query group that talks to one downstream.
//!
//! - [`Engine`] (built with [`EngineBuilder`] from a [`LoaderConfig`]): one per downstream.
//!   It owns the shared concurrency limit, moved after every batch call by a
//!   [`ScalingStrategy`](limit::ScalingStrategy), the wait queue that sheds load with
//!   [`LoadError::Overloaded`], per-group cost models that size batches, and the metrics
//!   returned by [`Engine::snapshot`].
//! - [`BatchFn`]: what you implement — keys in, map of values out — for one [`QueryGroup`].
//! - [`Loader`]: the typed handle a request uses (`load`, `load_many`, `prime`, `clear`),
//!   with a per-request cache; [`RequestScope`]: a request admitted at the engine's door
//!   ([`Engine::admit_request`]), served whole (its loads are never refused).
//! - [`Engine::run`]: one call that is not a batch of keys (a page of rows, a write) under
//!   the same limit, counted and traced like a batch of one key.
//! - [`LearnedState`]: what was learned (costs, best limit), saved as JSON between runs.
//! - `compat::AsyncGraphqlLoader` (feature `async-graphql`): runs an existing
//!   `async_graphql::dataloader::Loader` through the engine unchanged.
//!
//! # Example
//!
//! ```
//! use std::{collections::HashMap, convert::Infallible};
//! use loader_core::{BatchFn, Engine, QueryGroup};
//!
//! struct UserNames;
//!
//! impl BatchFn for UserNames {
//!     type Key = u64;
//!     type Value = String;
//!     type Error = Infallible;
//!
//!     fn group(&self) -> QueryGroup {
//!         QueryGroup::new("users.by_id[name]")
//!     }
//!
//!     async fn load(&self, ids: &[u64]) -> Result<HashMap<u64, String>, Infallible> {
//!         // One query for the whole batch: SELECT id, name FROM users WHERE id = ANY($1)
//!         Ok(ids.iter().map(|id| (*id, format!("user-{id}"))).collect())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = Engine::builder().max_concurrency(32).build()?;
//!
//! // Per request: a loader with a fresh cache.
//! let users = engine.loader(UserNames);
//! let (a, b, c) = tokio::join!(users.load(1), users.load(2), users.load(1));
//! assert_eq!(a?.as_deref(), Some("user-1"));
//! assert_eq!(b?.as_deref(), Some("user-2"));
//! assert_eq!(c?.as_deref(), Some("user-1"));
//!
//! let snapshot = engine.snapshot();
//! assert_eq!(snapshot.total.batches, 1); // three loads, two distinct keys, one call
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod batch;
mod dispatch;
mod engine;
mod error;
mod load;
mod shed;

pub mod limit;
pub mod metrics;

#[cfg(feature = "async-graphql")]
pub mod compat;

pub use dispatch::Run;
pub use engine::{Engine, EngineBuilder, LearnedGroup, LearnedState, LoaderConfig};
pub use error::{ConfigError, LoadError, OverloadReason, SharedError};
pub use load::{BatchFn, Loader, QueryGroup, RequestScope, Tracked};
pub use metrics::Snapshot;
