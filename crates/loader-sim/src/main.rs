//! `loader-sim`: run one strategy, or sweep them all, on a scenario file; or evaluate
//! strategies on scenarios generated from families (`eval`).
//!
//! ```text
//! cargo run --release -p loader-sim -- --scenario scenarios/steady.toml --strategy adaptive
//! cargo run --release -p loader-sim -- --scenario scenarios/steady.toml --sweep \
//!     --json steady.json --plot steady.svg
//! cargo run --release -p loader-sim -- eval --seeds 1000..1016 \
//!     --strategy adaptive,vegas,gradient2,aimd --json eval.json --plot eval.svg
//! cargo run --release -p loader-sim -- generate --family scenarios/families/step-down.toml \
//!     --seed 1003 --oracle
//! ```

mod cli;

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use loader_core::limit::StrategyKind;
use loader_sim::{
    RunOptions, Scenario, SweepOptions, SweepReport, plot, report, run, sweep, targets,
};

/// Drive the real loader-core engine against a simulated backend with a known optimum.
#[derive(Debug, Parser)]
#[command(
    version,
    about,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<cli::Command>,
    /// Scenario file (TOML). With --sweep it may be given several times (or with several
    /// files after it); a summary table follows the scenarios' tables.
    #[arg(long, required = true, num_args = 1..)]
    scenario: Vec<PathBuf>,
    /// Strategy: fixed (needs --limit), fixed:N, aimd, vegas, gradient2, adaptive, with
    /// tuning overrides as `NAME[KEY=VALUE,...]`. Ignored by --sweep.
    #[arg(long, default_value = "adaptive")]
    strategy: String,
    /// With `fixed`: the fixed limit. With another strategy: its initial limit.
    #[arg(long)]
    limit: Option<usize>,
    /// Write every figure as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Draw limit, in-flight, throughput and p99 over time as SVG to this file. With
    /// --sweep, also draws every strategy's limit to `<stem>-strategies.svg`.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Sweep fixed limits to find the oracle, then run every strategy and compare.
    #[arg(long)]
    sweep: bool,
    /// With --sweep: write `<DIR>/<scenario>.json`, `<scenario>.svg` and
    /// `<scenario>-strategies.svg` for every scenario.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
    /// Runs executed in parallel by --sweep.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Overrides an engine setting (any `[engine]` key, durations in ms), e.g.
    /// `--engine target_response_time=6`. Repeatable.
    #[arg(long = "engine", value_name = "KEY=VALUE")]
    engine: Vec<String>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

fn strategy(cli: &Cli) -> anyhow::Result<StrategyKind> {
    let kind: StrategyKind = cli.strategy.parse()?;
    Ok(match (kind, cli.limit) {
        (StrategyKind::Fixed(None), Some(n)) => StrategyKind::Fixed(Some(n)),
        (StrategyKind::Fixed(None), None) => bail!("--strategy fixed needs --limit N"),
        (kind, _) => kind,
    })
}

pub(crate) fn progress_bar(quiet: bool, len: u64) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} simulated ms ({eta})",
        )
        .expect("valid progress template"),
    );
    bar
}

pub(crate) fn write_json(path: &Path, value: &impl serde::Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

fn strategies_plot_path(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map_or_else(Default::default, |s| s.to_string_lossy().into_owned());
    path.with_file_name(format!("{stem}-strategies.svg"))
}

fn load_scenario(path: &Path, engine: &[String]) -> anyhow::Result<Scenario> {
    let mut scenario = Scenario::from_file(path)?;
    for setting in engine {
        let (key, value) = setting
            .split_once('=')
            .with_context(|| format!("--engine {setting}: expected KEY=VALUE"))?;
        scenario.set_engine(key.trim(), value.trim())?;
    }
    Ok(scenario)
}

fn plot_sweep(path: &Path, result: &SweepReport) -> anyhow::Result<()> {
    let oracle = &result.oracle().run;
    if let Some(adaptive) = result.row("adaptive") {
        plot::plot_run(path, &adaptive.run, Some(oracle))?;
    }
    let runs: Vec<_> = result
        .strategies
        .iter()
        .filter(|r| r.role.is_empty())
        .map(|r| &r.run)
        .collect();
    let title = format!("{}: every strategy's limit", result.scenario);
    plot::plot_strategies(&strategies_plot_path(path), &title, &runs)?;
    Ok(())
}

fn main_sweep(cli: &Cli, scenarios: &[Scenario]) -> anyhow::Result<()> {
    if let Some(dir) = &cli.out_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let bar = progress_bar(cli.quiet, 0);
    let mut results = Vec::new();
    for scenario in scenarios {
        let options = SweepOptions {
            jobs: cli.jobs,
            progress: bar.clone(),
        };
        let result = sweep(scenario, &options)?;
        bar.suspend(|| println!("{}", report::sweep_table(&result)));
        if let Some(path) = &cli.json {
            write_json(path, &result)?;
        }
        if let Some(path) = &cli.plot {
            plot_sweep(path, &result)?;
        }
        if let Some(dir) = &cli.out_dir {
            write_json(&dir.join(format!("{}.json", result.scenario)), &result)?;
            plot_sweep(&dir.join(format!("{}.svg", result.scenario)), &result)?;
        }
        results.push(result);
    }
    bar.finish_and_clear();
    if results.len() > 1 {
        println!("{}", report::summary_table(&results));
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(command) = &cli.command {
        return cli::main(command);
    }
    let scenarios = cli
        .scenario
        .iter()
        .map(|path| load_scenario(path, &cli.engine))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if cli.sweep {
        return main_sweep(&cli, &scenarios);
    }
    let [scenario] = scenarios.as_slice() else {
        bail!("several --scenario files need --sweep");
    };
    let spec: loader_sim::StrategySpec = cli.strategy.parse()?;
    let (kind, custom) = if spec.overrides.is_empty() {
        (strategy(&cli)?, None)
    } else {
        let config = scenario.engine_config().strategy_config();
        (StrategyKind::Adaptive, Some(spec.to_custom(config)?))
    };
    let bar = progress_bar(cli.quiet, (scenario.duration_s * 1000.0) as u64);
    let options = RunOptions {
        strategy: kind,
        custom,
        initial_limit: match kind {
            StrategyKind::Fixed(_) => None,
            _ => cli.limit,
        },
        progress: bar.clone(),
    };
    let result = run(scenario, &options)?;
    bar.finish_and_clear();
    println!("{}", report::run_table(&result));
    let checks = targets::evaluate(scenario, &result, None);
    println!(
        "### Targets that need no oracle\n\n{}",
        report::targets_table(&checks)
    );
    if let Some(path) = &cli.json {
        #[derive(serde::Serialize)]
        struct Single<'a> {
            run: &'a loader_sim::RunReport,
            targets: &'a [targets::TargetCheck],
        }
        write_json(
            path,
            &Single {
                run: &result,
                targets: &checks,
            },
        )?;
    }
    if let Some(path) = &cli.plot {
        plot::plot_run(path, &result, None)?;
    }
    Ok(())
}
