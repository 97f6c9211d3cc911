//! [`E2eArgs`]: the `bench-e2e` command line.

use std::{path::PathBuf, time::Duration};

use clap::{CommandFactory as _, FromArgMatches as _, Parser};

use super::{Mode, Workload};
use crate::duration::parse_duration;

/// Starts a throwaway PostgreSQL, seeds it, runs each server (this one in every loader
/// mode, async-graphql's `DataLoader` at several pool sizes, PostGraphile as a peer) at
/// several client counts on the light and the heavy mix, confirms the final table in
/// rounds of alternating order, checks the headline with autocannon, then a "database gets
/// slower" run with `pgbench` competing; writes tables, JSON and SVG plots.
///
/// Every cell reports complete responses per second (`2xx`, data, no errors), partial
/// answers (data plus errors), refusals (`503`) and other errors per second apart, the
/// latency of complete responses, and the CPU per request of the server process and of the
/// PostgreSQL cluster.
#[derive(Debug, Clone, Parser)]
#[command(name = "bench-e2e", version)]
pub struct E2eArgs {
    /// A smoke run: 2% of the data set, 1 s warm-up and 3 s cells, a small grid (adaptive,
    /// fixed:1, fixed:4, async-graphql at pools 4 and the default), clients 16 and 64, two
    /// confirmation rounds, a 9 s slowdown run, 3 s of autocannon. Flags given explicitly
    /// still win. Its figures are not for comparison.
    #[arg(long)]
    pub quick: bool,
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
    /// Query mixes, comma-separated: `light` (the built-in mix of small nested queries),
    /// `heavy` (the README's nested query: 50 users, their posts, comments, authors, tags).
    #[arg(long = "mix", value_delimiter = ',', default_value = "light,heavy")]
    pub mixes: Vec<Workload>,
    /// Loader modes of this server, comma-separated: adaptive, fixed:N, async-graphql,
    /// none. async-graphql runs at each of --async-graphql-pools and at --db-connections.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "adaptive,fixed:1,fixed:2,fixed:3,fixed:4,fixed:8,fixed:16,fixed:32,async-graphql,none"
    )]
    pub modes: Vec<Mode>,
    /// Pool sizes (`DATABASE_MAX_CONNECTIONS`) async-graphql's `DataLoader` runs at, as a
    /// user tuning it by hand would try; the best is "async-graphql, best pool". Its
    /// default pool (--db-connections) runs as well.
    #[arg(long, value_delimiter = ',', default_value = "4,8,16,32,64")]
    pub async_graphql_pools: Vec<u32>,
    /// Peer servers on the same database, comma-separated: `postgraphile` (installed with
    /// npm into --node-dir; skipped with a loud line without Node.js) or `none`.
    #[arg(long, value_delimiter = ',', default_value = "postgraphile")]
    pub peers: Vec<Peer>,
    /// The PostGraphile version npm installs (4.x: the queries are written in its schema).
    #[arg(long, default_value = "4.14.1")]
    pub postgraphile_version: String,
    /// A load generator nobody here wrote, to confirm the headline row: `autocannon` (npm,
    /// --autocannon-version) runs the heavy query at --outside-clients against each server
    /// of the final table, every body checked; or `none`.
    #[arg(long, default_value = "autocannon")]
    pub outside: Outside,
    /// The autocannon version npm installs.
    #[arg(long, default_value = "9.0.0")]
    pub autocannon_version: String,
    /// Clients of the autocannon check.
    #[arg(long, default_value_t = 64)]
    pub outside_clients: usize,
    /// Where npm installs PostGraphile and autocannon (default: OUT/node).
    #[arg(long)]
    pub node_dir: Option<PathBuf>,
    /// Client counts of the matrix, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "16,64,256")]
    pub clients: Vec<usize>,
    /// Client counts at which a client that ignores `Retry-After` (retries at once, as
    /// autocannon does) runs as well as the one that honours it.
    #[arg(long, value_delimiter = ',', default_value = "64")]
    pub both_retry_clients: Vec<usize>,
    /// Client counts of the final table (the confirmation rounds and the targets).
    #[arg(long, value_delimiter = ',', default_value = "64,256")]
    pub final_clients: Vec<usize>,
    /// Warm-up of each cell (not counted).
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Measured time of each cell.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Client-side request timeout.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Every client retries at once after a refusal instead of waiting the server's hint
    /// (`retryAfterMs` or `Retry-After`, at most 1 s).
    #[arg(long)]
    pub ignore_retry_after: bool,
    /// Rounds of the confirmation: the servers of the final table run again at
    /// --final-clients in alternating order (ABCDE EDCBA ...), a fresh server per run; the
    /// final table holds their medians. 0 skips it (the final table then comes from the
    /// matrix).
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
    /// Also soak the adaptive server at --soak-clients for this long (first mix), reporting
    /// its RSS.
    #[arg(long, value_parser = parse_duration)]
    pub soak: Option<Duration>,
    /// Clients of the soak.
    #[arg(long, default_value_t = 256)]
    pub soak_clients: usize,
    /// The server binary (build it with `cargo build --release -p server`).
    #[arg(long, default_value = "target/release/server")]
    pub server_bin: PathBuf,
    /// `DATABASE_MAX_CONNECTIONS` of this server in every mode (async-graphql's default
    /// pool), and PostGraphile's `--max-pool-size`.
    #[arg(long, default_value_t = 32)]
    pub db_connections: u32,
    /// PostgreSQL `shared_buffers`.
    #[arg(long, default_value = "512MB")]
    pub shared_buffers: String,
    /// Extra server environment in every mode, `KEY=VALUE` (repeatable).
    #[arg(long = "server-env", value_parser = parse_key_value)]
    pub server_env: Vec<(String, String)>,
    /// Output directory (results.json, results.md, slowdown-<mix>.svg, logs).
    #[arg(long, default_value = "bench-out/e2e")]
    pub out: PathBuf,
}

/// A peer server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Peer {
    /// PostGraphile 4.
    Postgraphile,
    /// No peer.
    None,
}

/// A load generator from elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Outside {
    /// autocannon (Node.js).
    Autocannon,
    /// None.
    None,
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
    /// Parses the command line, applying `--quick`'s settings to every flag not given.
    pub fn parse_with_quick() -> Self {
        Self::from_matches(&Self::command().get_matches())
    }

    /// As [`parse_with_quick`](Self::parse_with_quick), from given arguments.
    pub fn parse_from_with_quick<I, T>(args: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Self::from_matches(&Self::command().get_matches_from(args))
    }

    fn from_matches(matches: &clap::ArgMatches) -> Self {
        let mut args = Self::from_arg_matches(matches).unwrap_or_else(|e| e.exit());
        if args.quick {
            let given =
                |id: &str| matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine);
            let ms = Duration::from_millis;
            if !given("scale") {
                args.scale = 0.02;
            }
            if !given("modes") {
                args.modes = vec![
                    Mode::Adaptive,
                    Mode::Fixed(1),
                    Mode::Fixed(4),
                    Mode::AsyncGraphql,
                ];
            }
            if !given("async_graphql_pools") {
                args.async_graphql_pools = vec![4];
            }
            if !given("clients") {
                args.clients = vec![16, 64];
            }
            if !given("final_clients") {
                args.final_clients = vec![64];
            }
            if !given("warmup") {
                args.warmup = ms(1_000);
            }
            if !given("duration") {
                args.duration = ms(3_000);
            }
            if !given("confirm_rounds") {
                args.confirm_rounds = 2;
            }
            if !given("slowdown_duration") {
                args.slowdown_duration = ms(9_000);
            }
            if !given("pgbench_scale") {
                args.pgbench_scale = 1;
            }
            if !given("out") {
                args.out = PathBuf::from("bench-out/e2e-quick");
            }
        }
        args
    }

    /// Where npm installs the Node.js tools.
    pub fn node_dir(&self) -> PathBuf {
        self.node_dir
            .clone()
            .unwrap_or_else(|| self.out.join("node"))
    }

    /// Whether PostGraphile is asked for.
    pub fn wants_postgraphile(&self) -> bool {
        self.peers.contains(&Peer::Postgraphile)
    }

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
        assert_eq!(args.mixes, [Workload::Light, Workload::Heavy]);
        assert_eq!(args.clients, [8, 256]);
        assert_eq!(args.soak, Some(Duration::from_secs(300)));
        assert_eq!(
            args.server_env,
            [("LOADER_MAX_QUEUE_WAIT_MS".to_string(), "200".to_string())]
        );
    }

    #[test]
    fn the_default_grid_has_every_small_fixed_limit_and_the_pools() {
        let args = E2eArgs::parse_from(["bench-e2e"]);
        for n in [1, 2, 3, 4, 8, 16, 32] {
            assert!(args.modes.contains(&Mode::Fixed(n)), "fixed:{n}");
        }
        assert_eq!(args.async_graphql_pools, [4, 8, 16, 32, 64]);
        assert_eq!(args.clients, [16, 64, 256]);
        assert_eq!(args.final_clients, [64, 256]);
        assert_eq!(args.both_retry_clients, [64]);
        assert!(args.wants_postgraphile());
        assert_eq!(args.outside, Outside::Autocannon);
        assert_eq!(args.node_dir(), PathBuf::from("bench-out/e2e/node"));
    }

    #[test]
    fn quick_shrinks_what_was_not_given_and_keeps_what_was() {
        let args = E2eArgs::parse_from_with_quick(["bench-e2e", "--quick", "--duration", "4s"]);
        assert_eq!(args.scale, 0.02);
        assert_eq!(args.clients, [16, 64]);
        assert_eq!(args.duration, Duration::from_secs(4), "given explicitly");
        assert_eq!(args.warmup, Duration::from_secs(1));
        assert_eq!(args.out, PathBuf::from("bench-out/e2e-quick"));
        let peers = E2eArgs::parse_from_with_quick([
            "bench-e2e",
            "--quick",
            "--peers",
            "none",
            "--mix",
            "heavy",
        ]);
        assert!(!peers.wants_postgraphile());
        assert_eq!(peers.mixes, [Workload::Heavy]);
        let full = E2eArgs::parse_from_with_quick(["bench-e2e"]);
        assert_eq!(full.scale, 1.0);
    }
}
