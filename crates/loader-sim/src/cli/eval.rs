//! `loader-sim eval`.

use std::{ops::Range, path::PathBuf};

use anyhow::{Context, bail};
use loader_sim::{
    Overrides, Scenario, StrategySpec,
    eval::{self, BASELINES, EvalOptions, Seeds},
    family::Family,
    oracle::{OracleCache, SearchOptions},
};

/// Evaluate strategies on generated scenarios against the per-phase oracle.
#[derive(Debug, clap::Args)]
pub(crate) struct EvalArgs {
    /// Seeds to draw from every family: `1000..1016` (end excluded), `1000..=1015`, one
    /// seed, or several of these, comma-separated (`1000..1016,2000..2016`), judged as one
    /// sample. Seeds 0-999 are the tuning range; 1000 and up are held out.
    #[arg(long)]
    seeds: String,
    /// Family files, or directories of them (every `*.toml`).
    #[arg(long, num_args = 1.., default_value = "scenarios/families")]
    families: Vec<PathBuf>,
    /// Only these families (by name; repeatable).
    #[arg(long = "family", value_name = "NAME")]
    only: Vec<String>,
    /// Scenario files to evaluate instead of the families (e.g. `scenarios/*.toml`), each
    /// at every seed of `--seeds` with only its `seed` line changed, against the same
    /// per-phase oracle. Each is named by its file (`step-down.toml`).
    #[arg(long = "scenarios", num_args = 1.., value_name = "FILE", conflicts_with_all = ["families", "only"])]
    scenarios: Vec<PathBuf>,
    /// Strategies, comma-separated or repeated: adaptive, vegas, gradient2, aimd, fixed:N,
    /// late[s=SECONDS] (the per-phase oracle switched that late), the compared designs usl
    /// and extremum, or NAME[KEY=VALUE,...] with tuning overrides. The first is the
    /// candidate.
    #[arg(long = "strategy", default_value = "adaptive")]
    strategies: Vec<String>,
    /// A tuning override (NAME=VALUE) for every strategy but the baselines (vegas,
    /// gradient2, aimd), fixed limits and late. Repeatable.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Overrides an engine setting in every scenario (an `[engine]` key). Repeatable.
    #[arg(long = "engine", value_name = "KEY=VALUE")]
    engine: Vec<String>,
    /// Simulations run at once (each on its own thread). By default, the number of CPUs.
    #[arg(long)]
    jobs: Option<usize>,
    /// Quick mode: every duration and change time halved, shorter oracle runs. Not figures
    /// of record (the report says so).
    #[arg(long)]
    quick: bool,
    /// Where oracles are cached.
    #[arg(long, default_value = "target/loader-sim-cache")]
    cache_dir: PathBuf,
    /// Compute every oracle, reading no cache (results are still written to it).
    #[arg(long)]
    refresh_oracle: bool,
    /// Neither read nor write the oracle cache.
    #[arg(long, conflicts_with = "refresh_oracle")]
    no_cache: bool,
    /// Write every figure (every run, summaries, targets) as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Draw the goodput-ratio distribution per family as SVG to this file.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Also write the tables (Markdown) to this file.
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

/// `1000..1016`, `1000..=1015` or `1000`, or several, comma-separated.
pub(crate) fn parse_seeds(text: &str) -> anyhow::Result<Seeds> {
    let mut ranges = Vec::new();
    for part in text.split(',') {
        ranges.push(parse_range(text, part)?);
    }
    Seeds::new(ranges).with_context(|| format!("--seeds {text}"))
}

/// One range of `--seeds text` (an empty one is refused by [`Seeds::new`]).
fn parse_range(text: &str, part: &str) -> anyhow::Result<Range<u64>> {
    let t = part.trim();
    let num = |s: &str| {
        s.trim()
            .parse::<u64>()
            .with_context(|| format!("--seeds {text}: `{s}` is not a seed"))
    };
    Ok(if let Some((a, b)) = t.split_once("..=") {
        num(a)?..num(b)? + 1
    } else if let Some((a, b)) = t.split_once("..") {
        num(a)?..num(b)?
    } else {
        let s = num(t)?;
        s..s + 1
    })
}

/// One family per scenario file, named by the file (see [`Family::of_scenario`]).
fn scenario_families(paths: &[PathBuf]) -> anyhow::Result<Vec<Family>> {
    let mut families = Vec::new();
    for path in paths {
        let scenario = Scenario::from_file(path)?;
        let label = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        if families.iter().any(|f: &Family| f.name == label) {
            bail!("scenario file `{label}` is given twice");
        }
        families.push(Family::of_scenario(&label, scenario));
    }
    families.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(families)
}

/// Splits on commas outside brackets: `a[x=1,y=2],b` is two strategies.
fn split_strategies(items: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for item in items {
        let (mut depth, mut current) = (0, String::new());
        for c in item.chars() {
            match c {
                '[' => depth += 1,
                ']' => depth -= 1,
                ',' if depth == 0 => {
                    out.push(std::mem::take(&mut current));
                    continue;
                }
                _ => {}
            }
            current.push(c);
        }
        out.push(current);
    }
    out.into_iter().filter(|s| !s.trim().is_empty()).collect()
}

pub(crate) fn main(args: &EvalArgs) -> anyhow::Result<()> {
    let seeds = parse_seeds(&args.seeds)?;
    let families = if args.scenarios.is_empty() {
        super::load_families(&args.families, &args.only)?
    } else {
        scenario_families(&args.scenarios)?
    };
    let set = Overrides::parse(&args.set)?;
    let mut strategies = Vec::new();
    for text in split_strategies(&args.strategies) {
        let spec: StrategySpec = text.parse()?;
        let spec = if spec.fixed_limit().is_some()
            || BASELINES.contains(&spec.name.as_str())
            || spec.name == loader_sim::LATE
        {
            spec
        } else {
            spec.with_overrides(&set)
        };
        if strategies.contains(&spec) {
            bail!("strategy {spec} is given twice");
        }
        strategies.push(spec);
    }
    let (time_scale, search) = if args.quick {
        (
            0.5,
            SearchOptions {
                warmup_s: 2.0,
                measure_s: 4.0,
                ..SearchOptions::default()
            },
        )
    } else {
        (1.0, SearchOptions::default())
    };
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let cache =
        (!args.no_cache).then(|| OracleCache::new(&args.cache_dir).refreshing(args.refresh_oracle));
    let range = eval::SeedRange::of(&seeds);
    let scenarios = families.len() as u64 * seeds.len();
    eprintln!(
        "evaluating {} on {} families x seeds {} = {scenarios} scenarios ({}), {jobs} jobs{}",
        strategies
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        families.len(),
        seeds,
        range.describe(),
        if args.quick { ", QUICK mode" } else { "" }
    );
    let bar = crate::progress_bar(args.quiet, scenarios);
    if !args.quiet {
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} scenarios ({eta})",
            )
            .expect("valid progress template"),
        );
    }
    let options = EvalOptions {
        families,
        seeds,
        strategies,
        jobs,
        search,
        time_scale,
        engine: super::parse_engine(&args.engine)?,
        cache,
        progress: bar.clone(),
    };
    let report = eval::evaluate(&options)?;
    bar.finish_and_clear();
    let tables = eval::tables(&report);
    println!("{tables}");
    if let Some(path) = &args.json {
        crate::write_json(path, &report)?;
    }
    if let Some(path) = &args.plot {
        eval::plot_goodput(path, &report)?;
    }
    if let Some(path) = &args.markdown {
        let text = format!("{}\n{tables}", eval::families(&report));
        super::write_text(path, &text)?;
    }
    let lost = report.lost();
    if !lost.is_empty() {
        bail!(
            "{} runs lost requests or keys (listed above): the engine broke an invariant",
            lost.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_ranges_parse_in_three_forms() {
        assert_eq!(parse_seeds("1000..1016").unwrap(), (1000..1016).into());
        assert_eq!(parse_seeds("1000..=1015").unwrap(), (1000..1016).into());
        assert_eq!(parse_seeds("7").unwrap(), (7..8).into());
        assert!(parse_seeds("10..10").is_err());
        assert!(parse_seeds("a..b").is_err());
    }

    #[test]
    fn several_seed_ranges_are_one_sample() {
        let seeds = parse_seeds("2000..2016, 1000..=1015,7").unwrap();
        assert_eq!(seeds.ranges(), [7..8, 1000..1016, 2000..2016]);
        assert_eq!(seeds.len(), 33);
        let err = parse_seeds("1000..1016,1010").unwrap_err();
        assert!(format!("{err:#}").contains("overlap"), "{err:#}");
        assert!(parse_seeds("1000..1016,").is_err());
    }

    #[test]
    fn strategies_split_on_commas_outside_brackets() {
        assert_eq!(
            split_strategies(&["law[a=1,b=2],vegas".into(), "aimd".into()]),
            vec!["law[a=1,b=2]", "vegas", "aimd"]
        );
    }
}
