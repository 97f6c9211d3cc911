//! Running an evaluation: every (family, seed), its oracle (cached), every strategy, on a
//! pool of threads, each run on its own single-threaded runtime with paused time.

use std::{
    sync::{
        Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Instant,
};

use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

use super::{Paired, RunScore, SeedRange, Seeds, Summary, Target, judge, score};
use crate::{
    RunDigest, RunOptions, Scenario, SimError, StrategySpec,
    family::{Family, generate},
    oracle::{self, ENGINE_FINGERPRINT, Oracle, OracleCache, SearchOptions},
    phases,
};

/// What to evaluate.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// The families.
    pub families: Vec<Family>,
    /// The seeds, each drawn from every family.
    pub seeds: Seeds,
    /// The strategies, compared in one table.
    pub strategies: Vec<StrategySpec>,
    /// Threads running simulations at once.
    pub jobs: usize,
    /// The oracle's fixed-limit runs.
    pub search: SearchOptions,
    /// Multiplies every scenario's duration and change times (1: as generated; the quick
    /// mode uses 0.5).
    pub time_scale: f64,
    /// Engine settings overridden in every scenario (`[engine]` keys).
    pub engine: Vec<(String, String)>,
    /// Where oracles are cached; `None`: always computed.
    pub cache: Option<OracleCache>,
    /// Advanced by one per scenario done.
    pub progress: ProgressBar,
}

/// The name and purpose of a family, for reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FamilyInfo {
    /// Name.
    pub name: String,
    /// One-line purpose.
    pub purpose: String,
}

/// One row of the summary: a family (or every family) and a strategy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    /// The family; `None` for the overall row.
    pub family: Option<String>,
    /// The strategy.
    pub strategy: String,
    /// Its figures.
    pub summary: Summary,
}

/// One scenario's oracle, as the report shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioOracle {
    /// `<family>#<seed>`.
    pub scenario: String,
    /// Per phase: start (s), capacity, best fixed limit, band, and for an open loop the
    /// offered load over the optimum's goodput.
    pub phases: Vec<OraclePhase>,
    /// The per-phase oracle run's goodput, keys/s.
    pub keys_per_s: f64,
    /// The best single fixed limit.
    pub single_limit: usize,
    /// Its goodput, keys/s.
    pub single_keys_per_s: f64,
}

/// One phase of a [`ScenarioOracle`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OraclePhase {
    /// Start, s.
    pub from_s: f64,
    /// The backend's capacity.
    pub capacity: f64,
    /// The best fixed limit (in a fleet, of each replica).
    pub limit: usize,
    /// The band (in a fleet, of each replica).
    pub band: (usize, usize),
    /// Open loop: offered keys/s over the optimum's goodput.
    pub overload: Option<f64>,
}

impl ScenarioOracle {
    fn of(o: &Oracle) -> Self {
        Self {
            scenario: o.scenario.clone(),
            phases: o
                .phases
                .iter()
                .map(|p| OraclePhase {
                    from_s: p.phase.from_s,
                    capacity: p.capacity,
                    limit: p.search.limit,
                    band: p.search.band,
                    overload: p
                        .offered_keys_per_s
                        .map(|k| k / p.search.keys_per_s.max(1e-9)),
                })
                .collect(),
            keys_per_s: o.run.keys_per_s,
            single_limit: o.single_limit,
            single_keys_per_s: o.single.keys_per_s,
        }
    }
}

/// A strategy's targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StrategyTargets {
    /// The strategy.
    pub strategy: String,
    /// Issue 17's targets.
    pub targets: Vec<Target>,
}

/// Every figure of an evaluation (what `--json` writes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// The seeds: a list of `start..end` ranges (`{"start", "end"}` in JSON).
    pub seeds: Seeds,
    /// Which range they come from.
    pub seed_range: SeedRange,
    /// Durations and change times were scaled by this (1 unless quick).
    pub time_scale: f64,
    /// The oracle's search settings.
    pub search: SearchOptions,
    /// `ENGINE_FINGERPRINT` of the build: the oracles' code.
    pub engine_fingerprint: String,
    /// What `oracle_ratio` and `oracle_p99_ratio` compare with.
    pub oracle_kind: String,
    /// The strategies, in the order given.
    pub strategies: Vec<String>,
    /// The families, by name.
    pub families: Vec<FamilyInfo>,
    /// Per family and strategy, then overall per strategy.
    pub summaries: Vec<SummaryRow>,
    /// Issue 17's targets per strategy.
    pub targets: Vec<StrategyTargets>,
    /// Every other strategy against the first, per family and then overall.
    #[serde(default)]
    pub paired: Vec<Paired>,
    /// Every run.
    pub runs: Vec<RunScore>,
    /// Every scenario's oracle.
    pub oracles: Vec<ScenarioOracle>,
    /// Oracles computed in this evaluation.
    pub oracles_computed: usize,
    /// Oracles read from the cache.
    pub oracles_cached: usize,
    /// Wall-clock seconds of the whole evaluation.
    pub wall_time_s: f64,
    /// Simulated seconds run (oracles computed and strategies).
    pub simulated_s: f64,
}

impl EvalReport {
    /// The summary of `strategy` over `family` (`None`: overall).
    pub fn summary(&self, family: Option<&str>, strategy: &str) -> Option<&Summary> {
        self.summaries
            .iter()
            .find(|r| r.family.as_deref() == family && r.strategy == strategy)
            .map(|r| &r.summary)
    }

    /// Runs that lost something, as `scenario / strategy: what`.
    pub fn lost(&self) -> Vec<String> {
        self.runs
            .iter()
            .filter_map(|r| {
                r.lost
                    .as_ref()
                    .map(|l| format!("{} / {}: {l}", r.scenario, r.strategy))
            })
            .collect()
    }
}

/// The scenario of (family, seed) as evaluated: generated, engine overrides applied, time
/// scaled.
pub fn scenario_of(
    family: &Family,
    seed: u64,
    engine: &[(String, String)],
    time_scale: f64,
) -> Result<Scenario, SimError> {
    let mut scenario = generate(family, seed)?.scenario;
    for (k, v) in engine {
        scenario.set_engine(k, v)?;
    }
    if time_scale != 1.0 {
        let name = scenario.name.clone();
        scenario = scenario.time_scaled(time_scale);
        scenario.name = name;
    }
    Ok(scenario)
}

/// The oracle of `scenario`, from the cache or computed (and cached); `true` if computed.
pub fn oracle_of(
    scenario: &Scenario,
    search: SearchOptions,
    cache: Option<&OracleCache>,
) -> Result<(Oracle, bool), SimError> {
    if let Some(o) = cache.and_then(|c| c.get(scenario, search)) {
        return Ok((o, false));
    }
    let o = oracle::compute(scenario, search)?;
    if let Some(c) = cache {
        c.put(scenario, search, &o)?;
    }
    Ok((o, true))
}

struct Done {
    oracle: ScenarioOracle,
    scores: Vec<RunScore>,
    computed: bool,
    simulated_s: f64,
}

fn one(options: &EvalOptions, family: &Family, seed: u64) -> Result<Done, SimError> {
    let scenario = scenario_of(family, seed, &options.engine, options.time_scale)?;
    let (oracle, computed) = oracle_of(&scenario, options.search, options.cache.as_ref())?;
    let all = phases(&scenario);
    let strategy_config = scenario.engine_config().strategy_config();
    let mut scores = Vec::new();
    let mut simulated_s = 0.0;
    if computed {
        simulated_s += oracle.simulated_s;
    }
    for spec in &options.strategies {
        let run_options = match (spec.fixed_limit(), spec.late()?) {
            (Some(n), _) => RunOptions::new(loader_core::limit::StrategyKind::Fixed(Some(n))),
            (None, Some(late)) => RunOptions::custom(oracle.scheduled(late, spec.to_string())),
            (None, None) => RunOptions::custom(spec.to_custom(strategy_config)?),
        };
        let report = crate::run(&scenario, &run_options)?;
        simulated_s += scenario.duration_s;
        let digest = RunDigest::new(&report, &all);
        scores.push(score(
            &family.name,
            seed,
            &oracle,
            &digest,
            scenario.warmup_s,
        ));
    }
    Ok(Done {
        oracle: ScenarioOracle::of(&oracle),
        scores,
        computed,
        simulated_s,
    })
}

/// Runs the evaluation. A run that loses something does not stop it: it is listed in
/// [`EvalReport::lost`] (the command fails on it); any other error stops it.
pub fn evaluate(options: &EvalOptions) -> Result<EvalReport, SimError> {
    let started = Instant::now();
    if options.strategies.is_empty() {
        return Err(SimError::Invalid("no strategy to evaluate".into()));
    }
    // Check every strategy's name and overrides before the first run.
    for spec in &options.strategies {
        if spec.fixed_limit().is_none() && spec.late()?.is_none() {
            spec.to_custom(loader_core::LoaderConfig::default().strategy_config())?;
        }
    }
    let tasks: Vec<(usize, u64)> = options
        .seeds
        .iter()
        .flat_map(|seed| (0..options.families.len()).map(move |f| (f, seed)))
        .collect();
    options.progress.set_length(tasks.len() as u64);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Done, SimError>>>> =
        Mutex::new((0..tasks.len()).map(|_| None).collect());
    let failed = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.clamp(1, tasks.len()) {
            scope.spawn(|| {
                loop {
                    if failed.load(Ordering::Relaxed) {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(f, seed)) = tasks.get(i) else {
                        break;
                    };
                    let result = one(options, &options.families[f], seed);
                    if result.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    options.progress.inc(1);
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(result);
                }
            });
        }
    });
    let mut runs = Vec::new();
    let mut oracles = Vec::new();
    let (mut computed, mut cached, mut simulated_s) = (0, 0, 0.0);
    for result in results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
    {
        let done = result?;
        if done.computed {
            computed += 1;
        } else {
            cached += 1;
        }
        simulated_s += done.simulated_s;
        runs.extend(done.scores);
        oracles.push(done.oracle);
    }

    let strategies: Vec<String> = options.strategies.iter().map(|s| s.to_string()).collect();
    let mut summaries = Vec::new();
    for family in &options.families {
        for s in &strategies {
            summaries.push(SummaryRow {
                family: Some(family.name.clone()),
                strategy: s.clone(),
                summary: Summary::of(
                    runs.iter()
                        .filter(|r| r.family == family.name && &r.strategy == s),
                ),
            });
        }
    }
    for s in &strategies {
        summaries.push(SummaryRow {
            family: None,
            strategy: s.clone(),
            summary: Summary::of(runs.iter().filter(|r| &r.strategy == s)),
        });
    }
    let medians: Vec<(String, String, f64)> = summaries
        .iter()
        .filter_map(|r| {
            r.family
                .as_ref()
                .map(|f| (f.clone(), r.strategy.clone(), r.summary.goodput_median))
        })
        .collect();
    let mut paired = Vec::new();
    if let Some((first, others)) = strategies.split_first() {
        for s in others {
            for family in &options.families {
                paired.extend(Paired::of(
                    Some(&family.name),
                    s,
                    first,
                    runs.iter().filter(|r| r.family == family.name),
                ));
            }
            paired.extend(Paired::of(None, s, first, runs.iter()));
        }
    }
    let seed_range = SeedRange::of(&options.seeds);
    let targets = strategies
        .iter()
        .map(|s| StrategyTargets {
            strategy: s.clone(),
            targets: judge(
                s,
                &summaries
                    .iter()
                    .find(|r| r.family.is_none() && &r.strategy == s)
                    .expect("an overall row per strategy")
                    .summary,
                &medians,
                seed_range == SeedRange::HeldOut && options.time_scale == 1.0,
            ),
        })
        .collect();
    Ok(EvalReport {
        seeds: options.seeds.clone(),
        seed_range,
        time_scale: options.time_scale,
        search: options.search,
        engine_fingerprint: ENGINE_FINGERPRINT.to_string(),
        oracle_kind: oracle::ORACLE_KIND.to_string(),
        strategies,
        families: options
            .families
            .iter()
            .map(|f| FamilyInfo {
                name: f.name.clone(),
                purpose: f.purpose.clone(),
            })
            .collect(),
        summaries,
        targets,
        paired,
        runs,
        oracles,
        oracles_computed: computed,
        oracles_cached: cached,
        wall_time_s: started.elapsed().as_secs_f64(),
        simulated_s,
    })
}
