//! An adaptive dataloader engine: batching, deduplication and a self-scaling concurrency
//! limit shared by every query group that talks to one downstream (a database, a service).
//!
//! A resolver or a handler asks a [`Loader`] for one key; the engine gathers the keys that
//! arrive together into one call of your [`BatchFn`], runs at most as many calls at once as
//! its limit allows, moves that limit to where the downstream serves the most, and refuses
//! new requests with [`LoadError::Overloaded`] before they queue past a bound. Nothing in it
//! is specific to GraphQL: `examples/rest.rs` batches the lookups of a plain REST handler.
//!
//! The main types:
//!
//! - [`Engine`], built with [`EngineBuilder`] (or from a [`LoaderConfig`]): one per
//!   downstream, a cheap handle to clone everywhere.
//! - [`BatchFn`] and [`QueryGroup`]: what you implement, and which keys may share a call.
//! - [`RequestScope`]: a request admitted at the engine's door, and the [`Loader`]s made
//!   from it; [`Engine::run`] and [`RequestScope::run`] for a call that is not a batch of
//!   keys.
//! - [`LoadError`] (with [`OverloadReason`]): why a load produced no value.
//! - [`Snapshot`] ([`metrics`]): what the engine measured; [`LearnedState`]: what it learned.
//! - [`limit`]: the strategies that move the limit, for a different one or your own.
//! - `compat::AsyncGraphqlLoader` (feature `async-graphql`): an existing
//!   `async_graphql::dataloader::Loader` run through the engine unchanged.
//!
//! # The engine
//!
//! An [`Engine`] owns the concurrency limit of one downstream: the number of calls it runs
//! at once, whatever query group they belong to. Build one per downstream, at start-up, and
//! clone it into every request; it needs a tokio runtime (each batch runs on a task).
//! Every setting has a default stated on [`LoaderConfig`] and [`EngineBuilder`].
//!
//! ```
//! use std::time::Duration;
//! use loader_core::Engine;
//!
//! let engine = Engine::builder()
//!     .initial_concurrency(8)
//!     .max_concurrency(64)
//!     .target_response_time(Duration::from_millis(10))
//!     .build()?;
//! assert_eq!(engine.limit(), 8);
//! assert!(Engine::builder().min_concurrency(10).max_concurrency(5).build().is_err());
//! # Ok::<(), loader_core::ConfigError>(())
//! ```
//!
//! # Batch functions and query groups
//!
//! A [`BatchFn`] loads many keys in one call and returns the values it found; a key missing
//! from the map loads as `None`. Its [`QueryGroup`] names the shape of the call: keys of the
//! same group, from any loader and any request, are deduplicated and share a batch, and each
//! group learns its own cost (which sets its batch size) and keeps its own figures.
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
//! let engine = Engine::builder().build()?;
//! let users = engine.loader(UserNames);
//! let (a, b, c) = tokio::join!(users.load(1), users.load(2), users.load(1));
//! assert_eq!(a?.as_deref(), Some("user-1"));
//! assert_eq!(b?.as_deref(), Some("user-2"));
//! assert_eq!(c?.as_deref(), Some("user-1"));
//! assert_eq!(engine.snapshot().total.batches, 1); // three loads, two keys, one call
//! # Ok(())
//! # }
//! ```
//!
//! # Loaders and the request scope
//!
//! A request (an HTTP request, a GraphQL operation) first asks for a place at the engine's
//! door with [`Engine::admit_request`], before it does any work. The [`RequestScope`] it
//! gets makes the request's loaders ([`RequestScope::loader`]): their loads are never
//! refused, the request is served whole, and each loader's cache lives as long as the
//! request. Wrapping the request's future in [`RequestScope::track`] lets a batch of this
//! request alone close as soon as the request has registered every key it can.
//! [`Engine::loader`] makes a loader outside any request, whose loads are judged one by one.
//!
//! ```
//! # use std::{collections::HashMap, convert::Infallible};
//! # use loader_core::{BatchFn, QueryGroup};
//! # struct UserNames;
//! # impl BatchFn for UserNames {
//! #     type Key = u64;
//! #     type Value = String;
//! #     type Error = Infallible;
//! #     fn group(&self) -> QueryGroup { QueryGroup::new("users.by_id[name]") }
//! #     async fn load(&self, ids: &[u64]) -> Result<HashMap<u64, String>, Infallible> {
//! #         Ok(ids.iter().map(|id| (*id, format!("user-{id}"))).collect())
//! #     }
//! # }
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = loader_core::Engine::builder().build()?;
//! let request = engine.admit_request().await?; // or Overloaded: nothing ran, retry later
//! let users = request.loader(UserNames);
//! let names = request.track(users.load_many([1, 2, 3])).await?;
//! assert_eq!(names.len(), 3);
//! assert_eq!(engine.snapshot().requests_in_flight, 1);
//! drop((users, request)); // the request ends: its place at the door is free again
//! assert_eq!(engine.snapshot().requests_in_flight, 0);
//! # Ok(())
//! # }
//! ```
//!
//! # Back-pressure: `Overloaded`
//!
//! The engine refuses work it could not serve promptly, with [`LoadError::Overloaded`] and
//! a `retry_after` hint, rather than letting it queue: a request at the door when every
//! place is taken and too many already wait, or would wait longer than `max_queue_wait`; a
//! standalone load when `queue_capacity` loads already wait or its expected wait is too
//! long. The [`OverloadReason`] says which bound refused it. A server answers such a
//! refusal with `503` and `Retry-After`.
//!
//! ```
//! # use std::{collections::HashMap, convert::Infallible};
//! # use loader_core::{BatchFn, QueryGroup};
//! # struct UserNames;
//! # impl BatchFn for UserNames {
//! #     type Key = u64;
//! #     type Value = String;
//! #     type Error = Infallible;
//! #     fn group(&self) -> QueryGroup { QueryGroup::new("users.by_id[name]") }
//! #     async fn load(&self, ids: &[u64]) -> Result<HashMap<u64, String>, Infallible> {
//! #         Ok(ids.iter().map(|id| (*id, format!("user-{id}"))).collect())
//! #     }
//! # }
//! use loader_core::{Engine, LoadError, OverloadReason};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = Engine::builder().max_requests(2).max_requests_waiting(0).build()?;
//! let (first, second) = (engine.admit_request().await?, engine.admit_request().await?);
//! let refused = engine.admit_request().await.unwrap_err();
//! assert!(matches!(
//!     refused,
//!     LoadError::Overloaded { reason: OverloadReason::DoorFull, .. }
//! ));
//! assert_eq!(engine.snapshot().requests_refused, 1);
//! drop((first, second));
//! assert!(engine.admit_request().await.is_ok());
//!
//! // A standalone loader is judged load by load.
//! let engine = Engine::builder().queue_capacity(1).build()?;
//! let refused = engine.loader(UserNames).load_many([1, 2]).await.unwrap_err();
//! assert!(matches!(
//!     refused,
//!     LoadError::Overloaded { reason: OverloadReason::QueueFull, .. }
//! ));
//! # Ok(())
//! # }
//! ```
//!
//! # The adaptive limit
//!
//! After every call the engine hands a [`limit::Sample`] (its latency, size and outcome) to
//! its [`limit::ScalingStrategy`], which returns the new limit, clamped to
//! `[min_concurrency, max_concurrency]`. The default, [`limit::Adaptive`], keeps a change of
//! the limit only when it raised the goodput, probes rarely, and backs off when calls slow
//! down; [`limit::StrategyKind`] names the others (`fixed:N`, `aimd`, `vegas`, `gradient2`).
//! Strategies are pure (no clock, no I/O): they can be tested with synthetic samples.
//!
//! ```
//! use std::time::Duration;
//! use loader_core::{
//!     Engine,
//!     limit::{Adaptive, Outcome, Sample, ScalingStrategy, StrategyConfig},
//! };
//!
//! let engine = Engine::builder().scaling_strategy("fixed:8".parse()?).build()?;
//! assert_eq!(engine.limit(), 8);
//!
//! let mut adaptive = Adaptive::new(StrategyConfig::default());
//! let sample = Sample {
//!     now: Duration::from_millis(5),
//!     rtt: Duration::from_millis(5),
//!     batch_size: 10,
//!     loads: 10,
//!     in_flight: 4,
//!     limit: 4,
//!     seq: 0,      // the first call dispatched,
//!     granted: 1,  // the only one so far,
//!     done_below: 1, // and it is back
//!     queued: 0,
//!     local_load: 0.0,
//!     outcome: Outcome::Success,
//!     requests_ended: 0, group: 0,
//! };
//! assert_eq!(adaptive.on_sample(&sample), 4); // one call proves nothing: it holds
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Metrics
//!
//! [`Engine::snapshot`] returns what the engine measured over the last `metrics_window`
//! (serialisable): the limit and its history, calls in flight and keys queued, the door's
//! figures, and per query group ([`metrics::GroupSnapshot`]) the calls, batch sizes,
//! latency percentiles, errors, refusals and the learned cost.
//!
//! ```
//! # use std::{collections::HashMap, convert::Infallible};
//! # use loader_core::{BatchFn, QueryGroup};
//! # struct UserNames;
//! # impl BatchFn for UserNames {
//! #     type Key = u64;
//! #     type Value = String;
//! #     type Error = Infallible;
//! #     fn group(&self) -> QueryGroup { QueryGroup::new("users.by_id[name]") }
//! #     async fn load(&self, ids: &[u64]) -> Result<HashMap<u64, String>, Infallible> {
//! #         Ok(ids.iter().map(|id| (*id, format!("user-{id}"))).collect())
//! #     }
//! # }
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = loader_core::Engine::builder().build()?;
//! engine.loader(UserNames).load_many([1, 2, 3]).await?;
//! let snapshot = engine.snapshot();
//! let users = &snapshot.groups["users.by_id[name]"];
//! assert_eq!((users.batches, users.batch_size.max), (1, 3.0));
//! assert_eq!(snapshot.in_flight, 0);
//! # Ok(())
//! # }
//! ```
//!
//! # Learned state
//!
//! What an engine learned (each group's cost, the limit of its best throughput) is a
//! [`LearnedState`] from [`Engine::learned`]: plain serde data that the caller keeps where
//! it likes (a file, a database row) and gives back at the next start, so the engine starts
//! near its last good limit instead of relearning it.
//!
//! ```
//! use loader_core::{Engine, LearnedState};
//!
//! let engine = Engine::builder().build()?;
//! let json = serde_json::to_string(&engine.learned())?;
//!
//! let state: LearnedState = serde_json::from_str(&json)?;
//! let restarted = Engine::builder().learned_state(state).build()?;
//! assert_eq!(restarted.learned().version, LearnedState::VERSION);
//! # Ok::<(), Box<dyn std::error::Error>>(())
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
