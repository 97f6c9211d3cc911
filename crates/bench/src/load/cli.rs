//! [`LoadgenArgs`]: the `loadgen` command line (in the library so that the compose file's
//! arguments can be checked against it in tests).

use std::{path::PathBuf, time::Duration};

use clap::{Parser, ValueEnum};

use crate::duration::parse_duration;

/// Closed-loop load: N clients, each sending its next GraphQL request when the previous
/// one finished; reports requests/s, latency percentiles and errors by `extensions.code`.
#[derive(Debug, Clone, Parser)]
#[command(name = "loadgen", version)]
pub struct LoadgenArgs {
    /// GraphQL endpoint.
    #[arg(long, default_value = "http://127.0.0.1:8000/graphql")]
    pub url: String,
    /// Concurrent clients (closed loop).
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// Measured time after the warm-up (`30s`, `2m`, `500ms`).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Warm-up, not counted in the totals.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// A request without a response after this is a timeout.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Clients refused (`503`) or answered with `OVERLOADED` retry at once instead of
    /// waiting the server's hint (`retryAfterMs`, else `Retry-After`; at most 1 s).
    #[arg(long)]
    pub ignore_retry_after: bool,
    /// `builtin` (or `light`), `heavy` (the README's nested query alone) or a TOML mix
    /// file (see docs/benchmarking.md).
    #[arg(long, default_value = "builtin")]
    pub query_mix: String,
    /// Where the highest user and post ids come from: `server` asks the server at start
    /// (random ids then hit real rows, whatever it was seeded with), `mix` takes the mix's
    /// `[id_ranges]` (the built-in mix: the benchmark data set, 10 000 users and 200 000
    /// posts). `--users` and `--posts` override either.
    #[arg(long, value_enum, default_value_t = IdRangeSource::Server)]
    pub id_ranges: IdRangeSource,
    /// Highest user id to draw (overrides `--id-ranges`).
    #[arg(long)]
    pub users: Option<u64>,
    /// Highest post id to draw (overrides `--id-ranges`).
    #[arg(long)]
    pub posts: Option<u64>,
    /// Seed of the random picks.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write the full report (with the per-second series) as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Bearer token sent with every request (`server token --user N` prints one).
    #[arg(long, env = "LOADGEN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

/// Where `loadgen` takes its id ranges from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IdRangeSource {
    /// Ask the server for its highest ids ([`discover_id_ranges`](super::discover_id_ranges)).
    Server,
    /// The query mix's `[id_ranges]`.
    Mix,
}

impl LoadgenArgs {
    /// Whether the server must be asked for its id ranges (`--id-ranges server` and not both
    /// `--users` and `--posts` given).
    pub fn asks_server(&self) -> bool {
        self.id_ranges == IdRangeSource::Server && (self.users.is_none() || self.posts.is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_default_the_id_ranges_come_from_the_server() {
        let args = LoadgenArgs::parse_from(["loadgen"]);
        assert_eq!(args.id_ranges, IdRangeSource::Server);
        assert!(args.asks_server());
        let given = LoadgenArgs::parse_from(["loadgen", "--users", "300", "--posts", "3000"]);
        assert!(!given.asks_server());
        let mix = LoadgenArgs::parse_from(["loadgen", "--id-ranges", "mix"]);
        assert!(!mix.asks_server());
    }
}
