//! Throwaway PostgreSQL clusters for tests: find the server binaries, run a private cluster
//! on a free port, give each test a fresh database, and clean up even when the test process
//! dies.

mod binaries;
mod cluster;
mod error;
mod skip;

pub use cluster::PgCluster;
pub use error::PgError;
pub use skip::{pg_database_or_skip, skip_unless_installed};
