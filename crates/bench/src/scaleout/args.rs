//! [`ScaleoutArgs`]: the command line of the `scaleout` binary.

use std::{path::PathBuf, time::Duration};

use clap::Args;

use crate::duration::parse_duration;

/// What the scale-out experiment runs.
#[derive(Debug, Clone, Args)]
pub struct ScaleoutArgs {
    /// Server replicas sharing the database.
    #[arg(long, default_value_t = 3)]
    pub replicas: usize,
    /// Closed-loop clients in total, split evenly across the replicas.
    #[arg(long, default_value_t = 96)]
    pub clients: usize,
    /// Measured time of each run.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Warm-up of each run (not measured).
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Total concurrency limits swept with fixed per-replica limits (total / replicas each).
    #[arg(long, value_delimiter = ',', default_value = "6,12,24,48,96")]
    pub fixed_totals: Vec<usize>,
    /// Upper bound of each replica's limit (`LOADER_MAX_CONCURRENCY`), also its pool size.
    #[arg(long, default_value_t = 32)]
    pub max_concurrency: usize,
    /// `LOADER_INITIAL_CONCURRENCY` of every adaptive replica: where a cold replica starts.
    /// By default, this is the engine's default.
    #[arg(long)]
    pub initial_concurrency: Option<usize>,
    /// How long a joining replica is watched.
    #[arg(long, default_value = "6s", value_parser = parse_duration)]
    pub join_duration: Duration,
    /// Users of the generated data set (posts x10, comments x30).
    #[arg(long, default_value_t = 2_000)]
    pub users: u64,
    /// Use this database instead of starting a throwaway PostgreSQL cluster (it is seeded
    /// when it has no users).
    #[arg(long, env = "SCALEOUT_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Caps the throwaway PostgreSQL's CPU at this many cores (a cgroup, after seeding; needs
    /// root), so that the database, not the replicas' own CPU, is the bottleneck they share,
    /// as when the database runs on its own host. By default, this is off (uncapped).
    #[arg(long)]
    pub db_cpu: Option<f64>,
    /// Write the report as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Skip the fixed-limit sweep (adaptive and the join only).
    #[arg(long)]
    pub no_sweep: bool,
    /// How often adaptive replicas exchange their live limits through the database
    /// (`server::fleet`); `0` turns it off. A last adaptive run without it is measured for
    /// comparison either way.
    #[arg(long, default_value = "250ms", value_parser = parse_duration)]
    pub fleet_sync: Duration,
}
