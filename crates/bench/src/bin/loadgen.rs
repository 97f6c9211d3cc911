//! `loadgen`: closed-loop GraphQL load against one endpoint.
//!
//! ```text
//! cargo run --release -p bench --bin loadgen -- --url http://127.0.0.1:8000/graphql \
//!     --clients 64 --duration 30s --warmup 5s --query-mix builtin --json out.json
//! ```

use std::{path::PathBuf, time::Duration};

use anyhow::Context as _;
use bench::{
    duration::parse_duration,
    load::{LoadConfig, QueryMix, run},
};
use clap::Parser;

/// Closed-loop load: N clients, each sending its next GraphQL request when the previous
/// one finished; reports complete, partial (data plus errors) and refused (`503`) responses
/// per second apart, latency percentiles and errors by `extensions.code`.
#[derive(Debug, Parser)]
#[command(name = "loadgen", version)]
struct Args {
    /// GraphQL endpoint.
    #[arg(long, default_value = "http://127.0.0.1:8000/graphql")]
    url: String,
    /// Concurrent clients (closed loop).
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Measured time after the warm-up (`30s`, `2m`, `500ms`).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    duration: Duration,
    /// Warm-up, not counted in the totals.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    warmup: Duration,
    /// A request without a response after this is a timeout.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    timeout: Duration,
    /// Clients refused (`503`) or answered with `OVERLOADED` retry at once instead of
    /// waiting the server's hint (`retryAfterMs`, else `Retry-After`; at most 1 s).
    #[arg(long)]
    ignore_retry_after: bool,
    /// `builtin` (or `light`), `heavy` (the README's nested query alone) or a TOML mix
    /// file (see the README).
    #[arg(long, default_value = "builtin")]
    query_mix: String,
    /// Highest user id to draw (overrides the mix's `[id_ranges] user`).
    #[arg(long)]
    users: Option<u64>,
    /// Highest post id to draw (overrides the mix's `[id_ranges] post`).
    #[arg(long)]
    posts: Option<u64>,
    /// Seed of the random picks.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write the full report (with the per-second series) as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut mix = QueryMix::load(&args.query_mix)?;
    if let Some(users) = args.users {
        mix = mix.with_id_range("user", users);
    }
    if let Some(posts) = args.posts {
        mix = mix.with_id_range("post", posts);
    }
    let mut config = LoadConfig::new(args.url, mix);
    config.clients = args.clients;
    config.duration = args.duration;
    config.warmup = args.warmup;
    config.timeout = args.timeout;
    config.honor_retry_after = !args.ignore_retry_after;
    config.seed = args.seed;
    config.progress = true;
    let report = run(config).await?;
    println!("{report}");
    if let Some(path) = args.json {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
