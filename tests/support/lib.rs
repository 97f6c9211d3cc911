//! Test tooling shared by the workspace's database and end-to-end tests.
//!
//! - [`PgCluster`]: a throwaway PostgreSQL cluster made with Debian's `initdb`/`pg_ctl` in a
//!   temporary directory, on a free port, removed afterwards. [`PgCluster::shared`] gives one
//!   cluster per test binary; [`pg_database_or_skip`] / [`pg_or_skip!`] hand each test a fresh
//!   database, or skip loudly when PostgreSQL is not installed (and panic when `CI` is set).
//! - [`sqlite_url`]: a fresh SQLite file database in a directory the test owns.
//! - [`skip_missing`]: the one loud way to skip a test whose real component (PostgreSQL,
//!   Chromium, ...) is missing; a failure when `CI` is set.
//!
//! ```no_run
//! # async fn example() {
//! // In a `#[tokio::test]`: a fresh database on the binary's shared cluster.
//! let url = test_support::pg_or_skip!();
//! assert!(url.starts_with("postgres://postgres@127.0.0.1:"));
//! # }
//! ```

mod pg;
mod skip;
mod sqlite;

pub use pg::{PgCluster, PgError, pg_database_or_skip, skip_unless_installed};
pub use skip::skip_missing;
pub use sqlite::sqlite_url;
