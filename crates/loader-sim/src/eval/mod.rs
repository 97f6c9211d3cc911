//! `loader-sim eval`: strategies judged on scenarios generated from families, by seed,
//! against each scenario's per-phase oracle. See `docs/sim/evaluation.md`.
//!
//! - `runner.rs`: [`evaluate`] runs every (family, seed) on a pool of threads: the scenario
//!   ([`scenario_of`]), its oracle ([`oracle_of`], cached on disk), every strategy.
//! - `seeds.rs`: the [`Seeds`] drawn (one range or several) and their [`SeedRange`] kind.
//! - `score.rs`: [`score`] compares one run with the oracle ([`RunScore`], the JSON row).
//! - `summary.rs`: [`Summary`] of many runs (median, p10, worst, ...).
//! - `targets.rs`: issue 17's targets, [`judge`]d on a summary.
//! - `paired.rs`: each strategy against the first, scenario by scenario ([`Paired`]).
//! - `table.rs` and `plot.rs`: the report as Markdown and as SVG.

mod paired;
mod plot;
mod runner;
mod score;
mod seeds;
mod summary;
mod table;
mod targets;

pub use paired::{MOVED, Paired, sign_test};
pub use plot::plot_goodput;
pub use runner::{
    EvalOptions, EvalReport, FamilyInfo, OraclePhase, ScenarioOracle, StrategyTargets, SummaryRow,
    evaluate, oracle_of, scenario_of,
};
pub use score::{
    ChangeScore, MIN_REQUESTS, P99_WITHIN, PhaseScore, RECONVERGE_SHARE, RECONVERGE_WINDOW,
    RunScore, reconvergence, score,
};
pub use seeds::{HELD_OUT_START, SeedRange, Seeds};
pub use summary::{RESAMPLES, Summary, bootstrap_ci95, quantile};
pub use table::{families, headline, tables};
pub use targets::{BASELINES, MIN_SCENARIOS, Target, judge};
