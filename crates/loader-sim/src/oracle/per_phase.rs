//! The per-phase oracle of a scenario: each phase's best fixed limit (from a search on the
//! phase's conditions held steady), run with the limit switched at each change; and the
//! best single fixed limit over the whole run, as a second reference.

use std::{collections::HashMap, sync::Arc, time::Duration};

use loader_core::limit::StrategyKind;
use serde::{Deserialize, Serialize};

use super::{
    ScheduledLimit,
    search::{self, Search, SearchOptions, TOLERANCE},
};
use crate::{CustomStrategy, Phase, RunDigest, RunOptions, Scenario, SimError, phases, run};

/// `oracle_kind` of the figures this oracle gives.
pub const ORACLE_KIND: &str = "per-phase";

/// One phase and its best fixed limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseOracle {
    /// The phase.
    pub phase: Phase,
    /// The backend's capacity during the phase.
    pub capacity: f64,
    /// Open loop: keys/s offered during the phase (over the optimum's goodput, the
    /// overload factor). `None` for a closed loop.
    pub offered_keys_per_s: Option<f64>,
    /// The search on the phase's conditions held steady.
    pub search: Search,
}

/// The references a strategy is compared with on one scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Oracle {
    /// The scenario's name.
    pub scenario: String,
    /// Every phase's best fixed limit.
    pub phases: Vec<PhaseOracle>,
    /// The run with each phase's limit, switched at the changes: the per-phase oracle.
    pub run: RunDigest,
    /// The best single fixed limit over the whole run.
    pub single_limit: usize,
    /// Its run.
    pub single: RunDigest,
    /// Fixed-limit runs the searches took (steady conditions shared by several phases are
    /// searched once when their searches measure as long).
    pub search_runs: usize,
    /// Simulated seconds it took to compute.
    pub simulated_s: f64,
    /// Wall-clock seconds it took to compute.
    pub real_time_s: f64,
}

impl Oracle {
    /// The per-phase oracle as a strategy labelled `label`: each phase's best fixed limit,
    /// from the change that starts the phase plus `late` (the first phase's from the start).
    /// With `late` zero, this is the run of [`Oracle::run`].
    pub fn scheduled(&self, late: Duration, label: impl Into<String>) -> CustomStrategy {
        scheduled(&self.phases, late, label.into())
    }

    /// The best fixed limit of phase `index`.
    pub fn phase(&self, index: usize) -> Option<&PhaseOracle> {
        self.phases.iter().find(|p| p.phase.index == index)
    }
}

/// Each phase's best fixed limit from the change that starts it plus `late` (the first
/// phase's from the start), as a strategy labelled `label`.
fn scheduled(phases: &[PhaseOracle], late: Duration, label: String) -> CustomStrategy {
    let steps: Vec<(Duration, usize)> = phases
        .iter()
        .map(|p| {
            let at = Duration::from_secs_f64(p.phase.from_s);
            let at = if p.phase.index == 0 { at } else { at + late };
            (at, p.search.limit)
        })
        .collect();
    CustomStrategy {
        label,
        build: Arc::new(move |_| Box::new(ScheduledLimit::new(steps.clone()))),
    }
}

fn check(scenario: &Scenario, report: &crate::RunReport) -> Result<(), SimError> {
    search::check_lost(scenario, report)
}

/// Computes the oracle of `scenario`: a search per distinct phase, the scheduled run, and
/// the single-fixed-limit runs.
pub fn compute(scenario: &Scenario, options: SearchOptions) -> Result<Oracle, SimError> {
    let started = std::time::Instant::now();
    let config = scenario.engine_config();
    let bounds = (config.min_concurrency, config.max_concurrency);
    let all = phases(scenario);

    let mut searched: HashMap<String, Search> = HashMap::new();
    let mut search_runs = 0;
    let mut simulated_s = scenario.duration_s;
    let mut out = Vec::with_capacity(all.len());
    for phase in &all {
        let mut steady = scenario.held_at(phase.from_s, scenario.duration_s, 0.0);
        steady.name = format!("{} phase {}", scenario.name, phase.index);
        let phase_options = options.for_phase(phase.to_s - phase.from_s);
        let key = {
            let mut anonymous = steady.clone();
            anonymous.name.clear();
            serde_json::to_string(&(anonymous, phase_options)).unwrap_or_default()
        };
        let capacity = scenario.backend.capacity.at(phase.from_s);
        let found = match searched.get(&key) {
            Some(found) => found.clone(),
            None => {
                let found =
                    search::search(&steady, capacity.round() as usize, bounds, phase_options)?;
                search_runs += found.tried.len();
                simulated_s +=
                    found.tried.len() as f64 * (phase_options.warmup_s + phase_options.measure_s);
                searched.insert(key, found.clone());
                found
            }
        };
        out.push(PhaseOracle {
            phase: *phase,
            capacity,
            offered_keys_per_s: (scenario.load.mode == crate::LoadMode::Open).then(|| {
                scenario.load.rate_per_s.at(phase.from_s)
                    * crate::family::keys_per_request(scenario, phase.from_s)
            }),
            search: found,
        });
    }

    let oracle = scheduled(&out, Duration::ZERO, "oracle".into());
    let report = run(scenario, &RunOptions::custom(oracle))?;
    check(scenario, &report)?;
    let oracle_run = RunDigest::new(&report, &all);

    // The best single fixed limit lies between the smallest and the largest phase optimum
    // (below both, every phase's goodput rises with the limit; above both, it falls): try
    // each phase optimum and the geometric midpoints between neighbours.
    let mut limits: Vec<usize> = out.iter().map(|p| p.search.limit).collect();
    limits.sort_unstable();
    limits.dedup();
    let (single_limit, single) = if let [only] = limits.as_slice() {
        // the scheduled run held this one limit throughout: it is that fixed limit's run
        let mut single = oracle_run.clone();
        single.strategy = format!("fixed:{only}");
        (*only, single)
    } else {
        let mut candidates = limits.clone();
        for w in limits.windows(2) {
            let mid = ((w[0] * w[1]) as f64).sqrt().round() as usize;
            candidates.push(mid);
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut runs = Vec::new();
        for l in candidates {
            let report = run(scenario, &RunOptions::new(StrategyKind::Fixed(Some(l))))?;
            check(scenario, &report)?;
            simulated_s += scenario.duration_s;
            runs.push((l, RunDigest::new(&report, &all)));
        }
        let best = runs.iter().map(|(_, r)| r.keys_per_s).fold(0.0, f64::max);
        runs.into_iter()
            .find(|(_, r)| r.keys_per_s >= best * (1.0 - TOLERANCE))
            .expect("at least one candidate")
    };

    Ok(Oracle {
        scenario: scenario.name.clone(),
        phases: out,
        run: oracle_run,
        single_limit,
        single,
        search_runs,
        simulated_s,
        real_time_s: started.elapsed().as_secs_f64(),
    })
}
