//! `loader-sim generate`.

use std::{
    fmt::Write,
    path::{Path, PathBuf},
};

use anyhow::Context;
use loader_sim::{
    eval,
    family::{Family, generate, nominal_rps},
    oracle::{OracleCache, SearchOptions},
};

/// Print the scenario a family draws for a seed.
#[derive(Debug, clap::Args)]
pub(crate) struct GenerateArgs {
    /// The family: a family file, or the name of one in `--families` (as `eval --family`
    /// takes it).
    #[arg(long)]
    family: String,
    /// Where a family given by name is looked up: family files, or directories of them.
    #[arg(long, num_args = 1.., default_value = "scenarios/families")]
    families: Vec<PathBuf>,
    /// The seed.
    #[arg(long)]
    seed: u64,
    /// Write the scenario here instead of standard output (run it with `--scenario`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also compute (or read from the cache) its per-phase oracle and print it.
    #[arg(long)]
    oracle: bool,
    /// Where oracles are cached.
    #[arg(long, default_value = "target/loader-sim-cache")]
    cache_dir: PathBuf,
}

pub(crate) fn main(args: &GenerateArgs) -> anyhow::Result<()> {
    let family = resolve(&args.family, &args.families)?;
    let generated = generate(&family, args.seed)?;
    let s = &generated.scenario;
    let mut text = format!(
        "# {}: drawn from family `{}` ({}) with seed {}.\n",
        s.name, family.name, family.purpose, args.seed
    );
    for d in &generated.draws {
        let _ = writeln!(
            text,
            "#   {} = {:.4} (from [{}, {}])",
            d.name, d.value, d.range.0, d.range.1
        );
    }
    let _ = writeln!(
        text,
        "#   nominal capacity at t=0: {:.0} requests/s",
        nominal_rps(s, 0.0)
    );
    text.push_str(&toml::to_string(s).context("cannot write the scenario as TOML")?);
    match &args.out {
        Some(path) => super::write_text(path, &text)?,
        None => print!("{text}"),
    }
    if args.oracle {
        let cache = OracleCache::new(&args.cache_dir);
        let (oracle, computed) = eval::oracle_of(s, SearchOptions::default(), Some(&cache))?;
        println!(
            "\n## Per-phase oracle of {} ({})\n",
            s.name,
            if computed {
                format!("computed in {:.1} s", oracle.real_time_s)
            } else {
                "cached".to_string()
            }
        );
        println!(
            "| phase | from s | to s | capacity | offered / served | best fixed limit | band | keys/s | p99 ms | limits tried |\n|---:|---:|---:|---:|---:|---:|---|---:|---:|---|"
        );
        for p in &oracle.phases {
            let tried: Vec<String> = p
                .search
                .tried
                .iter()
                .map(|t| format!("{}: {:.0}", t.limit, t.keys_per_s))
                .collect();
            println!(
                "| {} | {:.1} | {:.1} | {} | {} | {} | {}-{} | {:.0} | {:.1} | {} |",
                p.phase.index,
                p.phase.from_s,
                p.phase.to_s,
                p.capacity,
                p.offered_keys_per_s.map_or_else(
                    || "closed loop".to_string(),
                    |o| format!("{:.2}x", o / p.search.keys_per_s.max(1e-9))
                ),
                p.search.limit,
                p.search.band.0,
                p.search.band.1,
                p.search.keys_per_s,
                p.search.p99_ms,
                tried.join(", ")
            );
        }
        println!(
            "\nScheduled oracle run: {:.0} keys/s after the warm-up; best single fixed limit: {} ({:.0} keys/s).",
            oracle.run.keys_per_s, oracle.single_limit, oracle.single.keys_per_s
        );
    }
    Ok(())
}

/// `family` as a file when one exists at that path, else by name among `families`.
fn resolve(family: &str, families: &[PathBuf]) -> anyhow::Result<Family> {
    let path = Path::new(family);
    if path.is_file() {
        return Ok(Family::from_file(path)?);
    }
    let mut found = super::load_families(families, &[family.to_string()])
        .with_context(|| format!("--family {family}: not a file, nor a family's name"))?;
    Ok(found.remove(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn families_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/families")
    }

    #[test]
    fn a_family_is_found_by_file_or_by_name() {
        let dir = families_dir();
        let by_name = resolve("step-down", std::slice::from_ref(&dir)).unwrap();
        let file = dir.join("step-down.toml");
        let by_file = resolve(file.to_str().unwrap(), &[]).unwrap();
        assert_eq!(by_name.name, "step-down");
        assert_eq!(by_file.name, by_name.name);
        let err = resolve("no-such-family", &[dir]).unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("no family `no-such-family`"), "{text}");
        assert!(
            text.contains("step-down"),
            "the known names are listed: {text}"
        );
    }
}
