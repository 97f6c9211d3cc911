//! The subcommands: `eval` and `generate`.

mod eval;
mod generate;

use std::path::{Path, PathBuf};

use anyhow::Context;
use loader_sim::family::Family;

pub(crate) use eval::EvalArgs;
pub(crate) use generate::GenerateArgs;

/// A subcommand.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Evaluate strategies on scenarios generated from families, against each scenario's
    /// per-phase oracle (issue 17).
    Eval(EvalArgs),
    /// Print the scenario a family draws for a seed (TOML), and optionally its oracle.
    Generate(GenerateArgs),
}

pub(crate) fn main(command: &Command) -> anyhow::Result<()> {
    match command {
        Command::Eval(args) => eval::main(args),
        Command::Generate(args) => generate::main(args),
    }
}

/// Families from files and directories (every `*.toml` in a directory), by name.
pub(crate) fn load_families(paths: &[PathBuf], only: &[String]) -> anyhow::Result<Vec<Family>> {
    let mut families = Vec::new();
    for path in paths {
        if path.is_dir() {
            families.extend(Family::load_dir(path)?);
        } else {
            families.push(Family::from_file(path)?);
        }
    }
    families.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(w) = families.windows(2).find(|w| w[0].name == w[1].name) {
        anyhow::bail!("family `{}` is given twice", w[0].name);
    }
    if !only.is_empty() {
        for name in only {
            if !families.iter().any(|f| &f.name == name) {
                anyhow::bail!(
                    "no family `{name}`; known: {}",
                    families
                        .iter()
                        .map(|f| f.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        families.retain(|f| only.contains(&f.name));
    }
    Ok(families)
}

pub(crate) fn parse_engine(settings: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    settings
        .iter()
        .map(|s| {
            let (k, v) = s
                .split_once('=')
                .with_context(|| format!("--engine {s}: expected KEY=VALUE"))?;
            Ok((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

pub(crate) fn write_text(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
