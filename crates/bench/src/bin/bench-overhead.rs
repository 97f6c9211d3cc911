//! `bench-overhead`: what the loader engine costs with the database out of the picture
//! (`just bench-overhead-e2e`). See `bench-overhead --help`.
//!
//! ```text
//! cargo build --release -p server -p bench
//! target/release/bench-overhead --rounds 3 --warmup 3s --duration 10s --clients 64
//! ```

use bench::overhead::{OverheadArgs, run};
use clap::Parser as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let args = OverheadArgs::parse();
    let out = args.out.clone();
    let results = run(args, command).await?;
    println!("{}", results.markdown());
    eprintln!("wrote {0}/results.json and {0}/results.md", out.display());
    Ok(())
}
