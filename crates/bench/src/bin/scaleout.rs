//! `scaleout`: N server replicas on loopback against one PostgreSQL; adaptive limits against
//! a sweep of fixed ones; a replica joining cold or warm from the shared learned state.
//!
//! ```text
//! cargo run --release -p bench --bin scaleout -- --replicas 3 --clients 96 --duration 10s \
//!     --json bench-out/scaleout.json
//! ```

use bench::scaleout::{ScaleoutArgs, run};
use clap::Parser;

/// The scale-out experiment (see RELIABILITY.md for what it shows).
#[derive(Debug, Parser)]
#[command(name = "scaleout", version)]
struct Cli {
    #[command(flatten)]
    args: ScaleoutArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let report = run(&cli.args).await?;
    println!("{report}");
    if let Some(path) = &cli.args.json {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
