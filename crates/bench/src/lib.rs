//! End-to-end benchmarks of the forum GraphQL server.
//!
//! - [`load`]: a closed-loop HTTP load driver ([`load::run`] with a [`load::LoadConfig`]
//!   gives a [`load::LoadReport`]: requests/s, latency percentiles, errors by GraphQL
//!   `extensions.code`, and a per-second series). The `loadgen` binary is its command line.
//! - [`scaleout`]: N replicas on one PostgreSQL, adaptive against fixed limits, a replica
//!   joining cold or warm from the learned state shared in `loader_learned`.
//! - [`e2e`]: the `bench-e2e` orchestrator: a throwaway PostgreSQL, a seeded data set, the
//!   server in each loader mode, a client-count matrix, a "database gets slower" run with
//!   `pgbench` competing, an optional memory soak; one table, JSON and an SVG plot.
//! - [`cpu_cap`]: holds the database's processes to a number of cores (a cgroup), so that the
//!   database, not the servers, is the bottleneck on a small host (`scaleout --db-cpu`).
//! - [`proc_cpu`]: CPU time of a process, or of a process and its descendants (a
//!   PostgreSQL cluster), from `/proc`.
//! - [`overhead`]: the `bench-overhead` run: the engine against async-graphql's `DataLoader`
//!   on an in-memory SQLite database, in alternating rounds; requests/s ratios.
//!
//! ```no_run
//! use std::time::Duration;
//! use bench::load::{LoadConfig, QueryMix, run};
//!
//! # async fn example() -> Result<(), bench::BenchError> {
//! let mut config = LoadConfig::new("http://127.0.0.1:8000/graphql", QueryMix::builtin());
//! config.clients = 16;
//! config.duration = Duration::from_secs(5);
//! let report = run(config).await?;
//! println!("{:.0} req/s, p99 {:.1} ms", report.requests_per_s, report.latency.p99_ms);
//! # Ok(())
//! # }
//! ```

pub mod cpu_cap;
pub mod duration;
pub mod e2e;
mod error;
pub mod load;
pub mod overhead;
pub mod proc_cpu;
pub mod scaleout;

pub use error::BenchError;
