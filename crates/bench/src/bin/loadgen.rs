//! `loadgen`: closed-loop GraphQL load against one endpoint.
//!
//! ```text
//! cargo run --release -p bench --bin loadgen -- --url http://127.0.0.1:8000/graphql \
//!     --clients 64 --duration 30s --warmup 5s --query-mix builtin --json out.json
//! ```
//!
//! The random user and post ids are drawn from the ids the server holds, asked at start
//! (`--id-ranges server`, the default); see [`LoadgenArgs`]. A mix with mutations (or a
//! server with `REQUIRE_AUTH`) needs a bearer token:
//! `LOADGEN_TOKEN=$(server token --user 2) loadgen ...`. It reports complete, partial (data
//! plus errors) and refused (`503`) responses per second apart.

use anyhow::Context as _;
use bench::load::{IdRangeSource, LoadConfig, LoadgenArgs, QueryMix, discover_id_ranges, run};
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = LoadgenArgs::parse();
    let mut mix = QueryMix::load(&args.query_mix)?;
    if args.asks_server() {
        let client = reqwest::Client::builder().timeout(args.timeout).build()?;
        let ranges = discover_id_ranges(&client, &args.url).await?;
        eprintln!(
            "id ranges from {}: users 1..={}, posts 1..={}",
            args.url, ranges.users, ranges.posts
        );
        mix = mix
            .with_id_range("user", ranges.users)
            .with_id_range("post", ranges.posts);
    } else if args.id_ranges == IdRangeSource::Mix {
        eprintln!("id ranges from the query mix: {:?}", mix.id_ranges);
    }
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
    config.bearer_token = args.token;
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
