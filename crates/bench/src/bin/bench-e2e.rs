//! `bench-e2e`: the end-to-end benchmark (`just bench-e2e`). See `bench-e2e --help`.
//!
//! ```text
//! cargo build --release -p server -p bench
//! target/release/bench-e2e                 # the final tables (about an hour; see docs/benchmarking.md)
//! target/release/bench-e2e --quick         # a smoke run of everything (a few minutes)
//! ```

use bench::e2e::{E2eArgs, run};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let args = E2eArgs::parse_with_quick();
    let out = args.out.clone();
    let results = run(args, command).await?;
    println!("{}", results.markdown());
    eprintln!("wrote {0}/results.json and {0}/results.md", out.display());
    Ok(())
}
