//! `bench-e2e`: the end-to-end benchmark (`just bench-e2e`). See `bench-e2e --help`.
//!
//! ```text
//! cargo build --release -p server -p bench
//! target/release/bench-e2e --scale 0.05 --duration 5s
//! ```

use bench::e2e::{E2eArgs, run};
use clap::Parser as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let args = E2eArgs::parse();
    let out = args.out.clone();
    let results = run(args, command).await?;
    println!("{}", results.markdown());
    eprintln!("wrote {0}/results.json and {0}/results.md", out.display());
    Ok(())
}
