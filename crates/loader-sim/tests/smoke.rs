//! CI smoke test: short scenarios through the real engine; asserts the invariants (nothing
//! lost, limit within bounds, engine idle at the end), never timings.

use std::io::Write;

use loader_core::limit::StrategyKind;
use loader_sim::{RunOptions, RunReport, Scenario, run};

/// steady.toml, shortened to 5 s and scaled down (capacity 8, 50 clients).
const SHORT_STEADY: &str = r#"
duration_s = 5
seed = 1
warmup_s = 1
[backend]
capacity = [[0, 8], [3, 4]]
base_latency_ms = 4.0
per_key_latency_ms = 0.1
overload_penalty = 0.5
jitter = 0.1
error_rate = [[0, 0.0], [2, 0.2], [3, 0.0]]
[load]
mode = "closed"
clients = [[0, 50]]
rate_per_s = [[0, 0]]
keys_per_request = 5
key_space = 1000000
request_timeout_ms = 2000
"#;

fn assert_invariants(report: &RunReport) {
    let c = &report.counts;
    assert!(c.issued > 0, "{}: no request issued", report.strategy);
    assert_eq!(
        report.unaccounted,
        0,
        "{}: requests lost: {}",
        report.strategy,
        report.accounting()
    );
    assert_eq!(c.issued, report.answered + c.refused + c.timed_out);
    assert_eq!(
        c.missing_keys, 0,
        "{}: keys missing from answers",
        report.strategy
    );
    assert!(
        report.engine_idle_at_end,
        "{}: engine not idle after the drain",
        report.strategy
    );
    assert!(
        report.limit_in_bounds,
        "{}: limit left its bounds",
        report.strategy
    );
    let (lo, hi) = report.limit_bounds;
    let (lo, hi) = (lo * report.replicas, hi * report.replicas);
    assert!(
        report
            .samples
            .iter()
            .all(|s| s.limit >= lo && s.limit <= hi)
    );
    assert_eq!(report.samples.len(), 50);
}

#[test]
fn short_scenario_from_a_file_loses_nothing_for_several_strategies() {
    let mut file = tempfile::NamedTempFile::with_suffix(".toml").unwrap();
    file.write_all(SHORT_STEADY.as_bytes()).unwrap();
    let scenario = Scenario::from_file(file.path()).unwrap();
    for strategy in [
        StrategyKind::Fixed(Some(8)),
        StrategyKind::Adaptive,
        StrategyKind::Aimd,
    ] {
        let report = run(&scenario, &RunOptions::new(strategy)).unwrap();
        assert_invariants(&report);
        assert!(report.counts.ok > 0 && report.keys_per_s > 0.0);
        // the error burst reached the callers as errors, and they were counted as answered
        assert!(
            report.counts.errors > 0,
            "{}: no injected error seen",
            report.strategy
        );
        assert!(report.reconverge_s.is_some());
    }
}

#[test]
fn timeouts_and_refusals_are_accounted_for() {
    // One call at a time, a 20 ms request timeout and a tiny engine queue: some requests
    // time out, some are refused, and every one of them is still counted exactly once.
    let text = SHORT_STEADY
        .replace("request_timeout_ms = 2000", "request_timeout_ms = 20")
        .replace("base_latency_ms = 4.0", "base_latency_ms = 15.0")
        + "\n[engine]\nqueue_capacity = 20\n";
    let scenario = Scenario::from_toml_str(&text).unwrap();
    let report = run(&scenario, &RunOptions::new(StrategyKind::Fixed(Some(1)))).unwrap();
    assert_invariants(&report);
    assert!(report.counts.timed_out > 0, "{}", report.accounting());
    assert!(report.counts.refused > 0, "{}", report.accounting());
}

#[test]
fn open_loop_overload_loses_nothing() {
    let text = SHORT_STEADY
        .replace("mode = \"closed\"", "mode = \"open\"")
        .replace(
            "rate_per_s = [[0, 0]]",
            "rate_per_s = [[0, 500], [2, 4000]]",
        );
    let scenario = Scenario::from_toml_str(&text).unwrap();
    let report = run(&scenario, &RunOptions::new(StrategyKind::Adaptive)).unwrap();
    assert_invariants(&report);
    // Poisson arrivals: about 500 * 2 + 4000 * 3 requests
    assert!(
        (10_000..16_000).contains(&report.counts.issued),
        "{}",
        report.counts.issued
    );
}

#[test]
fn same_seed_same_figures() {
    let scenario = Scenario::from_toml_str(SHORT_STEADY).unwrap();
    let a = run(&scenario, &RunOptions::new(StrategyKind::Fixed(Some(4)))).unwrap();
    let b = run(&scenario, &RunOptions::new(StrategyKind::Fixed(Some(4)))).unwrap();
    assert_eq!(a.counts, b.counts);
}

#[test]
fn a_fleet_shares_the_backend_and_loses_nothing() {
    // Three replicas: the limit sampled is their sum, each replica hears of the others, and
    // nothing is lost in a closed or an open loop.
    let fleet = format!("replicas = 3\n{SHORT_STEADY}");
    let scenario = Scenario::from_toml_str(&fleet).unwrap();
    let report = run(&scenario, &RunOptions::new(StrategyKind::Fixed(Some(2)))).unwrap();
    assert_invariants(&report);
    assert_eq!(report.replicas, 3);
    assert!(report.samples.iter().all(|s| s.limit == 6));
    assert!(report.samples.iter().all(|s| s.limits == [2, 2, 2]));
    let report = run(&scenario, &RunOptions::new(StrategyKind::Adaptive)).unwrap();
    assert_invariants(&report);
    assert!(
        report
            .samples
            .iter()
            .all(|s| s.limits.len() == 3 && s.limits.iter().sum::<usize>() == s.limit),
        "each replica's limit, summing to the fleet's"
    );
    let others = &report.engine_snapshot.as_ref().unwrap()["fleet_others"];
    assert!(
        others.as_u64().unwrap() > 0,
        "the first replica never heard of the others"
    );
    // The other two replicas' snapshots, each with the changes of its own limit: the first
    // is its share of the initial limit.
    assert_eq!(report.replica_snapshots.len(), 2);
    for snapshot in &report.replica_snapshots {
        assert!(snapshot["fleet_others"].as_u64().unwrap() > 0);
        let reasons: Vec<&str> = snapshot["limit_history"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["reason"].as_str())
            .collect();
        assert_eq!(
            reasons.first(),
            Some(&"joined a fleet: its share of the initial limit"),
            "{reasons:?}"
        );
    }
    let open = fleet
        .replace("mode = \"closed\"", "mode = \"open\"")
        .replace("rate_per_s = [[0, 0]]", "rate_per_s = [[0, 2000]]");
    assert!(open.contains("mode = \"open\"") && open.contains("[[0, 2000]]"));
    let report = run(
        &Scenario::from_toml_str(&open).unwrap(),
        &RunOptions::new(StrategyKind::Adaptive),
    )
    .unwrap();
    assert_invariants(&report);
    assert!(Scenario::from_toml_str(&format!("replicas = 0\n{SHORT_STEADY}")).is_err());
}
