//! [`E2eArgs`]: the `bench-e2e` command line.

use std::{path::PathBuf, time::Duration};

use clap::Parser;

use super::Mode;
use crate::duration::parse_duration;

/// Starts a throwaway PostgreSQL, seeds it, runs the server in each loader mode at several
/// client counts, then a "database gets slower" run with `pgbench` competing; writes one
/// table, JSON and an SVG plot.
#[derive(Debug, Clone, Parser)]
#[command(name = "bench-e2e", version)]
pub struct E2eArgs {
    /// Multiplies the default data set (10 000 users, 200 000 posts, 1 000 000 comments,
    /// 100 000 follows; 100 tags).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Users (overrides --scale).
    #[arg(long)]
    pub users: Option<u64>,
    /// Posts (overrides --scale).
    #[arg(long)]
    pub posts: Option<u64>,
    /// Comments (overrides --scale).
    #[arg(long)]
    pub comments: Option<u64>,
    /// Follows (overrides --scale).
    #[arg(long)]
    pub follows: Option<u64>,
    /// Tags.
    #[arg(long, default_value_t = 100)]
    pub tags: u64,
    /// Loader modes of the matrix, comma-separated: adaptive, fixed:N, async-graphql, none.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "adaptive,fixed:4,fixed:8,fixed:16,fixed:32,async-graphql,none"
    )]
    pub modes: Vec<Mode>,
    /// Client counts of the matrix, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "8,64,256")]
    pub clients: Vec<usize>,
    /// Warm-up of each matrix cell (not counted).
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Measured time of each matrix cell.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Client-side request timeout.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Clients refused with `OVERLOADED` retry at once instead of waiting the server's
    /// `retryAfterMs` hint (at most 1 s).
    #[arg(long)]
    pub ignore_retry_after: bool,
    /// Rounds of the confirmation: adaptive, the best fixed limit and async-graphql run again
    /// at the most clients, in alternating order (ABC CBA ...); 0 skips it. Runs of one mode
    /// vary by 10-15% on a shared 2-core host: four rounds give each mode every position.
    #[arg(long, default_value_t = 4)]
    pub confirm_rounds: usize,
    /// Skip the "database gets slower" run.
    #[arg(long)]
    pub no_slowdown: bool,
    /// Modes of the slowdown run; default: adaptive, the best fixed limit of the matrix,
    /// async-graphql and none (those that ran).
    #[arg(long, value_delimiter = ',')]
    pub slowdown_modes: Vec<Mode>,
    /// Clients of the slowdown run.
    #[arg(long, default_value_t = 64)]
    pub slowdown_clients: usize,
    /// Measured time of the slowdown run: a third before, a third with `pgbench`
    /// competing, a third after.
    #[arg(long, default_value = "45s", value_parser = parse_duration)]
    pub slowdown_duration: Duration,
    /// `pgbench -c` of the competing load.
    #[arg(long, default_value_t = 16)]
    pub pgbench_clients: u32,
    /// `pgbench -i -s` of the competing load's tables.
    #[arg(long, default_value_t = 5)]
    pub pgbench_scale: u32,
    /// Also soak the adaptive server at --soak-clients for this long, reporting its RSS.
    #[arg(long, value_parser = parse_duration)]
    pub soak: Option<Duration>,
    /// Clients of the soak.
    #[arg(long, default_value_t = 256)]
    pub soak_clients: usize,
    /// The server binary (build it with `cargo build --release -p server`).
    #[arg(long, default_value = "target/release/server")]
    pub server_bin: PathBuf,
    /// `DATABASE_MAX_CONNECTIONS` of the server in every mode.
    #[arg(long, default_value_t = 32)]
    pub db_connections: u32,
    /// PostgreSQL `shared_buffers`.
    #[arg(long, default_value = "512MB")]
    pub shared_buffers: String,
    /// Extra server environment in every mode, `KEY=VALUE` (repeatable).
    #[arg(long = "server-env", value_parser = parse_key_value)]
    pub server_env: Vec<(String, String)>,
    /// Output directory (results.json, results.md, slowdown.svg, server logs).
    #[arg(long, default_value = "bench-out/e2e")]
    pub out: PathBuf,
}

fn parse_key_value(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))
}

/// Sizes of the data set to seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// Users.
    pub users: u64,
    /// Posts.
    pub posts: u64,
    /// Comments.
    pub comments: u64,
    /// Tags.
    pub tags: u64,
    /// Follows.
    pub follows: u64,
}

impl E2eArgs {
    /// The data set: the defaults times `--scale`, overridden by explicit sizes.
    pub fn sizes(&self) -> Sizes {
        let scaled = |n: f64| ((n * self.scale).round() as u64).max(1);
        Sizes {
            users: self.users.unwrap_or_else(|| scaled(10_000.0)),
            posts: self.posts.unwrap_or_else(|| scaled(200_000.0)),
            comments: self.comments.unwrap_or_else(|| scaled(1_000_000.0)),
            tags: self.tags,
            follows: self.follows.unwrap_or_else(|| scaled(100_000.0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_multiplies_the_default_data_set_and_flags_override_it() {
        let args = E2eArgs::parse_from(["bench-e2e", "--scale", "0.01", "--posts", "777"]);
        assert_eq!(
            args.sizes(),
            Sizes {
                users: 100,
                posts: 777,
                comments: 10_000,
                tags: 100,
                follows: 1_000
            }
        );
    }

    #[test]
    fn modes_and_clients_are_comma_separated_lists() {
        let args = E2eArgs::parse_from([
            "bench-e2e",
            "--modes",
            "adaptive,fixed:8,none",
            "--clients",
            "8,256",
            "--soak",
            "5m",
            "--server-env",
            "LOADER_MAX_QUEUE_WAIT_MS=200",
        ]);
        assert_eq!(args.modes, [Mode::Adaptive, Mode::Fixed(8), Mode::None]);
        assert_eq!(args.clients, [8, 256]);
        assert_eq!(args.soak, Some(Duration::from_secs(300)));
        assert_eq!(
            args.server_env,
            [("LOADER_MAX_QUEUE_WAIT_MS".to_string(), "200".to_string())]
        );
    }
}
