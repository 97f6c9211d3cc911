//! The per-phase oracle finds the optimum where it is known, a strategy that holds the
//! oracle's limit scores 100%, and a lost key is a hard error.

use loader_core::limit::StrategyKind;
use loader_sim::{
    RunDigest, RunOptions, Scenario, SimError, StrategySpec,
    eval::{self, EvalOptions, RunScore, score},
    family::Family,
    oracle::{self, SearchOptions},
    phases, run,
};

/// A sharp knee: capacity 4 (8 from 4 s on), overload penalty 2, so one call above the
/// capacity costs a third of the goodput; 60 clients keep the backend saturated.
const KNEE: &str = r#"
duration_s = 8
seed = 3
warmup_s = 1
[backend]
capacity = [[0, 4], [4, 8]]
base_latency_ms = 4.0
per_key_latency_ms = 0.5
overload_penalty = 2.0
[load]
mode = "closed"
clients = 60
keys_per_request = 2
key_space = 1000000
request_timeout_ms = 2000
"#;

const SHORT: SearchOptions = SearchOptions {
    warmup_s: 0.5,
    measure_s: 2.0,
    whole_phase: false,
};

/// The run of `scenario` with `options`, scored against `oracle`.
fn scored(scenario: &Scenario, oracle: &oracle::Oracle, options: &RunOptions) -> RunScore {
    let report = run(scenario, options).unwrap();
    let digest = RunDigest::new(&report, &phases(scenario));
    score("test", 0, oracle, &digest, scenario.warmup_s)
}

#[test]
fn a_phase_is_searched_for_its_whole_length() {
    let options = SearchOptions::default();
    assert!(options.whole_phase);
    // A phase longer than the measured time is measured whole; a shorter one still gets
    // the measured time.
    assert_eq!(options.for_phase(14.5).measure_s, 14.5);
    assert_eq!(options.for_phase(2.0).measure_s, options.measure_s);
    assert_eq!(options.for_phase(14.5).warmup_s, options.warmup_s);
    assert_eq!(SHORT.for_phase(14.5), SHORT);
    // Files written before the setting existed read as the old search.
    let old: SearchOptions = serde_json::from_str(r#"{"warmup_s":3.0,"measure_s":6.0}"#).unwrap();
    assert!(!old.whole_phase);
}

#[test]
fn the_best_fixed_limit_of_each_phase_is_its_capacity() {
    let scenario = Scenario::from_toml_str(KNEE).unwrap();
    let o = oracle::compute(&scenario, SHORT).unwrap();
    let limits: Vec<usize> = o.phases.iter().map(|p| p.search.limit).collect();
    assert_eq!(limits, vec![4, 8], "{:#?}", o.phases);
    for p in &o.phases {
        let (lo, hi) = p.search.band;
        assert!(lo <= p.search.limit && p.search.limit <= hi);
        // one above the capacity serves a third less: outside the band
        assert!(
            hi < p.search.limit + 1,
            "band {lo}-{hi} of {}",
            p.search.limit
        );
        // the optimum beats every other limit tried
        let best = p
            .search
            .tried
            .iter()
            .map(|t| t.keys_per_s)
            .fold(0.0, f64::max);
        assert!(p.search.keys_per_s >= best * (1.0 - oracle::search::TOLERANCE));
    }
    // switching at the change beats holding either limit for the whole run
    assert!(o.single_limit == 4 || o.single_limit == 8 || o.single_limit == 6);
    assert!(
        o.run.keys_per_s > o.single.keys_per_s,
        "{} vs {}",
        o.run.keys_per_s,
        o.single.keys_per_s
    );
}

/// A closed loop with far more clients than the best limit needs: below it, each call
/// carries a larger batch, so goodput falls slowly and the search's walk down stops (two
/// limits in a row below the best) while its lowest limit still serves over 90%.
const GENTLE: &str = r#"
duration_s = 8
seed = 7
warmup_s = 1
[backend]
capacity = 33.0
base_latency_ms = 13.3
per_key_latency_ms = 0.026
overload_penalty = 1.75
jitter = 0.25
[load]
mode = "closed"
clients = 58
keys_per_request = 9
key_space = 1000000
request_timeout_ms = 2000
"#;

#[test]
fn the_bands_low_end_is_measured_not_assumed() {
    let scenario = Scenario::from_toml_str(GENTLE).unwrap();
    let found = oracle::search::search(&scenario, 33, (1, 256), SHORT).unwrap();
    let (lo, hi) = found.band;
    assert!(
        1 < lo && lo <= found.limit && found.limit <= hi,
        "band {lo}-{hi} around {}: {:#?}",
        found.limit,
        found.tried
    );
    // the limit tried just below the band serves less than the band asks
    let best = found.tried.iter().map(|t| t.keys_per_s).fold(0.0, f64::max);
    let below = found
        .tried
        .iter()
        .rev()
        .find(|t| t.limit < lo)
        .expect("a limit below the band was tried");
    assert!(
        below.keys_per_s < oracle::search::BAND_GOODPUT * best
            || below.p99_ms > oracle::search::BAND_P99 * found.p99_ms,
        "{below:?} fits the band {lo}-{hi}: {:#?}",
        found.tried
    );
}

#[test]
fn a_fixed_limit_equal_to_the_oracles_scores_one_hundred_percent() {
    let mut scenario = Scenario::from_toml_str(KNEE).unwrap();
    scenario.backend.capacity = loader_sim::Schedule::constant(4.0);
    let o = oracle::compute(&scenario, SHORT).unwrap();
    assert_eq!(o.phases[0].search.limit, 4);
    for limit in [4, 6] {
        let s = scored(
            &scenario,
            &o,
            &RunOptions::new(StrategyKind::Fixed(Some(limit))),
        );
        assert!(s.nothing_lost);
        if limit == 4 {
            // the same limit, the same seed: the same run as the oracle's
            assert!((s.oracle_ratio - 1.0).abs() < 1e-12, "{}", s.oracle_ratio);
            assert_eq!(s.oracle_p99_ratio, Some(1.0));
        } else {
            assert!(s.oracle_ratio < 0.9, "fixed:6 scored {}", s.oracle_ratio);
            assert!(s.oracle_p99_ratio.unwrap() > 1.0);
        }
    }
}

#[test]
fn the_oracle_switched_late_serves_less_after_a_rise() {
    let scenario = Scenario::from_toml_str(KNEE).unwrap();
    let o = oracle::compute(&scenario, SHORT).unwrap();
    let ratio = |late: f64| {
        let strategy = o.scheduled(std::time::Duration::from_secs_f64(late), "late");
        let s = scored(&scenario, &o, &RunOptions::custom(strategy));
        assert!(s.nothing_lost);
        s.oracle_ratio
    };
    // Not late: the oracle's own run.
    let on_time = ratio(0.0);
    assert!((on_time - 1.0).abs() < 1e-12, "{on_time}");
    // Two of the four seconds at capacity 8 held at 4: about a quarter less over the run's
    // steady part.
    let late = ratio(2.0);
    assert!(late < 0.9, "switched 2 s late: {late}");
    // A spec names it; a single run, which has no oracle, refuses it.
    let spec: StrategySpec = "late[s=2]".parse().unwrap();
    assert_eq!(
        spec.late().unwrap(),
        Some(std::time::Duration::from_secs(2))
    );
    let config = loader_core::LoaderConfig::default().strategy_config();
    let err = spec.to_custom(config).unwrap_err().to_string();
    assert!(err.contains("loader-sim eval"), "{err}");
}

#[test]
fn in_a_fleet_the_oracles_own_limits_count_as_reconverged() {
    // Two replicas on the sharp knee: the oracle holds each replica at one limit, and the
    // run's limit is the fleet's total, so the band is the oracle's total too.
    let scenario = Scenario::from_toml_str(&format!("replicas = 2\n{KNEE}")).unwrap();
    let o = oracle::compute(&scenario, SHORT).unwrap();
    let oracle_run = RunOptions::custom(o.scheduled(std::time::Duration::ZERO, "oracle"));
    let s = scored(&scenario, &o, &oracle_run);
    assert!(!s.changes.is_empty());
    for c in &s.changes {
        assert!(c.reconverged && c.seconds < 0.5, "{c:?}");
        let per_replica = o.phase(c.phase).unwrap().search.band;
        assert_eq!(c.band, (per_replica.0 * 2, per_replica.1 * 2));
    }
    for p in &s.phases {
        let per_replica = o.phase(p.index).unwrap().search.limit;
        assert_eq!(p.oracle_limit, 2 * per_replica);
        assert!((p.limit_mean - p.oracle_limit as f64).abs() < 1e-9, "{p:?}");
    }
}

/// Loses one key in about one answer in a hundred.
const LOSSY: &str = r#"
duration_s = 4
seed = 1
warmup_s = 1
[backend]
capacity = 4
base_latency_ms = 4.0
lose_key_rate = 0.01
[load]
mode = "closed"
clients = 20
keys_per_request = 3
key_space = 1000000
request_timeout_ms = 2000
"#;

#[test]
fn a_lost_key_fails_the_nothing_lost_check() {
    let scenario = Scenario::from_toml_str(LOSSY).unwrap();
    let report = run(&scenario, &RunOptions::new(StrategyKind::Fixed(Some(4)))).unwrap();
    let digest = RunDigest::new(&report, &phases(&scenario));
    let lost = digest.nothing_lost().unwrap_err();
    assert!(lost.contains("keys missing"), "{lost}");
    // the oracle refuses to compute figures from a run that lost something
    assert!(matches!(
        oracle::compute(&scenario, SHORT),
        Err(SimError::Lost { detail, .. }) if detail.contains("keys missing")
    ));
    // and so does the evaluation
    let family = Family::from_toml_str(
        r#"
        name = "lossy"
        purpose = "loses keys, to test the check"
        duration_s = 4
        warmup_s = 1
        [backend]
        capacity = 4
        base_latency_ms = 4.0
        lose_key_rate = 0.05
        [load]
        mode = "closed"
        clients = 20
        keys_per_request = 3
        "#,
    )
    .unwrap();
    let options = EvalOptions {
        families: vec![family],
        seeds: (1000..1001).into(),
        strategies: vec!["fixed:4".parse::<StrategySpec>().unwrap()],
        jobs: 1,
        search: SHORT,
        time_scale: 1.0,
        engine: Vec::new(),
        cache: None,
        progress: indicatif::ProgressBar::hidden(),
    };
    let result = eval::evaluate(&options);
    assert!(matches!(result, Err(SimError::Lost { .. })), "{result:?}");
}

#[test]
fn a_request_unaccounted_for_fails_the_nothing_lost_check() {
    let scenario = Scenario::from_toml_str(&LOSSY.replace("lose_key_rate = 0.01", "")).unwrap();
    let report = run(&scenario, &RunOptions::new(StrategyKind::Fixed(Some(4)))).unwrap();
    let mut digest = RunDigest::new(&report, &phases(&scenario));
    assert_eq!(digest.nothing_lost(), Ok(()));
    // one request issued that never ended
    digest.counts.issued += 1;
    digest.unaccounted += 1;
    assert!(
        digest
            .nothing_lost()
            .unwrap_err()
            .contains("1 requests unaccounted")
    );
}

#[test]
fn tuning_overrides_reach_the_hook_or_fail_loudly() {
    let config = loader_core::LoaderConfig::default().strategy_config();
    // The adaptive law takes its Tuning's fields by name, and names the fields on a typo.
    let spec: StrategySpec = "adaptive[alarm=0,free=false]".parse().unwrap();
    assert_eq!(
        spec.to_custom(config).unwrap().label,
        "adaptive[alarm=0,free=false]"
    );
    let spec: StrategySpec = "adaptive[gain=0.5]".parse().unwrap();
    let err = spec.to_custom(config).unwrap_err().to_string();
    assert!(
        err.contains("unknown tuning `gain`") && err.contains("alarm"),
        "{err}"
    );
    // A built-in baseline takes none.
    let spec: StrategySpec = "vegas[gain=0.5]".parse().unwrap();
    let err = spec.to_custom(config).unwrap_err().to_string();
    assert!(err.contains("takes no tuning overrides"), "{err}");
    assert!(
        "nope"
            .parse::<StrategySpec>()
            .unwrap()
            .to_custom(config)
            .is_err()
    );
    assert_eq!(
        "vegas"
            .parse::<StrategySpec>()
            .unwrap()
            .to_custom(config)
            .unwrap()
            .label,
        "vegas"
    );
}
