//! The families in `scenarios/families/`: every one parses, draws the same scenario for the
//! same seed, and keeps every parameter within the ranges issue 17 asks for.

use std::path::Path;

use loader_sim::{
    LoadMode, Scenario,
    family::{Family, generate, nominal_rps},
};

fn families() -> Vec<Family> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/families");
    Family::load_dir(dir).expect("the families parse")
}

const SEEDS: std::ops::Range<u64> = 0..120;

#[test]
fn every_family_has_a_name_and_a_one_line_purpose() {
    let all = families();
    assert!(all.len() >= 10, "{} families", all.len());
    for f in &all {
        assert!(!f.name.is_empty());
        assert!(
            f.purpose.len() > 20 && !f.purpose.contains('\n'),
            "{}",
            f.name
        );
    }
}

#[test]
fn the_same_family_and_seed_give_the_same_scenario() {
    for f in families() {
        let a = generate(&f, 1003).unwrap();
        let b = generate(&f, 1003).unwrap();
        let text = toml::to_string(&a.scenario).unwrap();
        assert_eq!(text, toml::to_string(&b.scenario).unwrap(), "{}", f.name);
        assert_eq!(a.draws, b.draws);
        assert_ne!(
            text,
            toml::to_string(&generate(&f, 1004).unwrap().scenario).unwrap(),
            "{}: seeds 1003 and 1004 drew the same scenario",
            f.name
        );
        // what `loader-sim generate` writes can be run with `--scenario`
        let back = Scenario::from_toml_str(&text).unwrap();
        assert_eq!(toml::to_string(&back).unwrap(), text);
    }
}

#[test]
fn every_number_is_drawn_within_its_range() {
    for f in families() {
        for seed in SEEDS {
            let g = generate(&f, seed).unwrap();
            for d in &g.draws {
                assert!(
                    d.range.0 <= d.value && d.value <= d.range.1,
                    "{} seed {seed}: {} = {} outside {:?}",
                    f.name,
                    d.name,
                    d.value,
                    d.range
                );
            }
        }
    }
}

/// The ranges of issue 17: capacity 1-200, overload penalty 0.1-2 (0 allowed where errors
/// make the knee), jitter 0-40%, load-independent errors 5-30%, steps of 2-8x.
#[test]
fn generated_scenarios_stay_within_the_issues_ranges() {
    for f in families() {
        for seed in SEEDS {
            let s = generate(&f, seed).unwrap().scenario;
            let b = &s.backend;
            let name = &s.name;
            assert!(
                b.capacity.min() >= 1.0 && b.capacity.max() <= 200.0,
                "{name}"
            );
            assert!(b.overload_penalty.max() <= 2.0, "{name}");
            assert!(b.jitter.max() <= 0.4, "{name}");
            let errors = b.error_rate.max();
            assert!(
                errors == 0.0 || (0.05..=0.30).contains(&errors),
                "{name}: {errors}"
            );
            for w in b.capacity.points().windows(2) {
                let step = w[1].1 / w[0].1;
                let step = step.max(1.0 / step);
                // 2-8x, with whole capacities rounding the smaller side
                assert!((1.4..=9.0).contains(&step), "{name}: capacity step {step}");
            }
            for t in s.change_times() {
                assert!(t >= s.warmup_s && t < s.duration_s, "{name}: change at {t}");
            }
            if s.load.mode == LoadMode::Open {
                let overload = s
                    .load
                    .rate_per_s
                    .points()
                    .iter()
                    .map(|(t, r)| r / nominal_rps(&s, *t))
                    .fold(0.0, f64::max);
                assert!(overload >= 1.5, "{name}: peak offered load {overload}x");
            }
        }
    }
}

#[test]
fn the_issues_failing_cases_are_families() {
    let all = families();
    let get = |n: &str| all.iter().find(|f| f.name == n).unwrap();
    // capacity 4 behind ~300 closed-loop clients, sharp knee
    let sharp = (1000..1100)
        .map(|seed| generate(get("sharp-knee"), seed).unwrap().scenario)
        .find(|s| s.backend.capacity.at(0.0) == 4.0)
        .expect("sharp-knee draws capacity 4");
    assert!((250.0..=350.0).contains(&sharp.load.clients.at(0.0)));
    assert!(sharp.backend.overload_penalty.at(0.0) >= 1.3);
    // capacity ~48 falling to ~12 on a thrashing backend
    let thrash = generate(get("thrash-step-down"), 1000).unwrap().scenario;
    let caps: Vec<f64> = thrash
        .backend
        .capacity
        .points()
        .iter()
        .map(|p| p.1)
        .collect();
    assert!(
        (40.0..=56.0).contains(&caps[0]) && (9.0..=16.0).contains(&caps[1]),
        "{caps:?}"
    );
    assert!((1.3..=1.7).contains(&thrash.backend.overload_penalty.at(0.0)));
    // open loop at 7x its base rate, ~10% load-independent errors that stop
    let flaky = generate(get("open-overload-flaky"), 1000).unwrap().scenario;
    let rates: Vec<f64> = flaky.load.rate_per_s.points().iter().map(|p| p.1).collect();
    assert!((rates[1] / rates[0] - 7.0).abs() < 1e-9, "{rates:?}");
    let errs = flaky.backend.error_rate.points();
    assert_eq!(errs.len(), 3, "errors start, then stop: {errs:?}");
    assert!((0.08..=0.12).contains(&errs[1].1) && errs[2].1 == 0.0);
    // the overload goes on after the errors stopped
    assert_eq!(flaky.load.rate_per_s.at(errs[2].0 + 1.0), rates[1]);
}

#[test]
fn a_family_with_a_mistake_is_rejected_with_the_reason() {
    let base = r#"
        name = "x"
        purpose = "a test"
        duration_s = 20
        warmup_s = 5
        [backend]
        capacity = { log_int = [1, 200] }
        base_latency_ms = 4
        [load]
        mode = "closed"
        clients = 10
        keys_per_request = 3
    "#;
    assert!(Family::from_toml_str(base).is_ok());
    let err = |extra: &str| {
        Family::from_toml_str(&format!("{base}\n{extra}"))
            .unwrap_err()
            .to_string()
    };
    assert!(
        err("[[change]]\nparam = \"backend.capacitty\"\nat_s = 10\nfactor = 2")
            .contains("unknown parameter")
    );
    assert!(
        err("[[change]]\nparam = \"backend.capacity\"\nat_s = 2\nfactor = 2").contains("warmup_s")
    );
    assert!(
        err("[[change]]\nparam = \"backend.capacity\"\nat_s = { uniform = [8, 12] }\nfactor = 2\n[[change]]\nparam = \"backend.capacity\"\nat_s = { uniform = [10, 14] }\nfactor = 2")
            .contains("overlap")
    );
    let typo = base.replace("keys_per_request", "keys_per_requets");
    assert!(
        Family::from_toml_str(&typo)
            .unwrap_err()
            .to_string()
            .contains("unknown load parameter")
    );
}

#[test]
fn a_scenario_file_is_a_family_that_changes_only_the_seed() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/step-down.toml");
    let public = Scenario::from_file(&path).unwrap();
    let family = Family::of_scenario("step-down.toml", public.clone());
    for seed in [7, 1234] {
        let drawn = generate(&family, seed).unwrap();
        assert_eq!(drawn.scenario.name, format!("step-down.toml#{seed}"));
        assert_eq!(drawn.scenario.seed, seed);
        assert!(drawn.draws.is_empty());
        // everything else is the file's
        let mut back = drawn.scenario.clone();
        back.seed = public.seed;
        back.name = public.name.clone();
        assert_eq!(
            serde_json::to_string(&back).unwrap(),
            serde_json::to_string(&public).unwrap()
        );
    }
}
