//! `bench-e2e`: the end-to-end benchmark (`just bench-e2e`). See `bench-e2e --help` and
//! docs/benchmarking.md.
//!
//! ```text
//! cargo build --release -p server -p bench
//! target/release/bench-e2e                 # the final tables (about an hour; see docs/benchmarking.md)
//! target/release/bench-e2e --quick         # a smoke run of everything (about ten minutes)
//! ```

use bench::e2e::{E2eArgs, run};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let args = E2eArgs::parse_with_quick();
    let out = args.out.clone();
    // Ctrl-C or SIGTERM drops the run: its servers (killed on drop) and its PostgreSQL
    // cluster (stopped on drop) go with it, and what was measured is already saved.
    let results = tokio::select! {
        results = run(args, command) => results?,
        signal = interrupted() => {
            anyhow::bail!("{signal}: stopped; what was measured so far is in {}/results.md", out.display())
        }
    };
    println!("{}", results.markdown());
    eprintln!("wrote {0}/results.json and {0}/results.md", out.display());
    Ok(())
}

async fn interrupted() -> &'static str {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM can be watched");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "interrupted",
        _ = term.recv() => "terminated",
    }
}
