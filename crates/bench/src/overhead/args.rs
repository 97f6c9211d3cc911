//! [`OverheadArgs`]: the `bench-overhead` command line.

use std::{path::PathBuf, time::Duration};

use clap::Parser;

use super::Backing;
use crate::{duration::parse_duration, e2e::Mode};

/// Runs the server on an in-memory SQLite database with the demo data, in each loader mode
/// in alternating rounds, and reports each mode's requests/s against the baseline's.
#[derive(Debug, Clone, Parser)]
#[command(name = "bench-overhead", version)]
pub struct OverheadArgs {
    /// Loader modes, comma-separated: adaptive, fixed:N, async-graphql, none.
    #[arg(long, value_delimiter = ',', default_value = "adaptive,async-graphql")]
    pub modes: Vec<Mode>,
    /// The mode every other mode is compared with (added to --modes when missing).
    #[arg(long, default_value = "async-graphql")]
    pub baseline: Mode,
    /// The query mix: `builtin` (nested forum queries), `tiny` (a post and its author: one
    /// load per request), ids narrowed to the demo data; or a TOML mix file.
    #[arg(long, default_value = "builtin")]
    pub mix: String,
    /// Closed-loop clients.
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// Rounds: each runs every mode once, on a freshly started server.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Warm-up of each mode in each round (not counted).
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Measured time of each mode in each round.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Client-side request timeout.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Where the database lives: `memory` (SQLite in memory; the server then keeps a single
    /// connection) or `tmpfs` (a SQLite file in WAL mode under --tmpfs-dir, a pool of
    /// --db-connections).
    #[arg(long, default_value = "memory")]
    pub database: Backing,
    /// Directory of the `tmpfs` database file.
    #[arg(long, default_value = "/dev/shm")]
    pub tmpfs_dir: PathBuf,
    /// `DATABASE_MAX_CONNECTIONS` (the `memory` database always has one connection).
    #[arg(long, default_value_t = 16)]
    pub db_connections: u32,
    /// The server binary (build it with `cargo build --release -p server`).
    #[arg(long, default_value = "target/release/server")]
    pub server_bin: PathBuf,
    /// Extra server environment in every mode, `KEY=VALUE` (repeatable).
    #[arg(long = "server-env", value_parser = parse_key_value)]
    pub server_env: Vec<(String, String)>,
    /// Draw a progress bar per run on standard error (hidden when it is not a terminal).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub progress: bool,
    /// Output directory (results.json, results.md, server logs).
    #[arg(long, default_value = "bench-out/overhead")]
    pub out: PathBuf,
}

impl OverheadArgs {
    /// The modes to run: `--modes` without repeats, the baseline appended when missing.
    pub fn all_modes(&self) -> Vec<Mode> {
        let mut modes: Vec<Mode> = Vec::new();
        for &mode in self.modes.iter().chain([&self.baseline]) {
            if !modes.contains(&mode) {
                modes.push(mode);
            }
        }
        modes
    }
}

fn parse_key_value(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_compare_adaptive_with_async_graphql_in_memory() {
        let args = OverheadArgs::parse_from(["bench-overhead"]);
        assert_eq!(args.all_modes(), [Mode::Adaptive, Mode::AsyncGraphql]);
        assert_eq!(args.baseline, Mode::AsyncGraphql);
        assert_eq!(args.database, Backing::Memory);
        assert_eq!((args.clients, args.rounds), (64, 3));
    }

    #[test]
    fn baseline_is_added_once_to_the_modes() {
        let args = OverheadArgs::parse_from([
            "bench-overhead",
            "--modes",
            "fixed:8,adaptive,fixed:8",
            "--baseline",
            "none",
        ]);
        assert_eq!(
            args.all_modes(),
            [Mode::Fixed(8), Mode::Adaptive, Mode::None]
        );
    }
}
