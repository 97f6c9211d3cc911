//! The limit strategies against a deterministic closed-loop model of a database, plus
//! property tests of their bounds.
//!
//! The model is the simulator's backend (issue 3): with `n` calls in flight and capacity `C`,
//! every call progresses at `min(1, C/n) / (1 + penalty * max(0, n - C) / C)` of full speed,
//! and a call's full-speed time is `(base + per_key * batch_size) * lognormal(jitter)`. So
//! goodput peaks at `n = C`. Clients (closed loop, no think time) each wait for a request of
//! five keys; requests queued when a permit frees are coalesced into one call (at most 200
//! keys), like the engine's batching. Time is virtual: an event loop, no runtime, no sleeps.

use std::time::Duration;

use loader_core::limit::{
    Adaptive, Aimd, Fixed, Gradient2, Outcome, Sample, ScalingStrategy, StrategyConfig,
    StrategyKind, Vegas,
};
use proptest::prelude::*;

/// A value that changes at given times: `[(at_s, value), ...]`.
#[derive(Debug, Clone)]
struct Schedule(Vec<(f64, f64)>);

impl Schedule {
    fn constant(v: f64) -> Self {
        Schedule(vec![(0.0, v)])
    }

    fn at(&self, t: f64) -> f64 {
        self.0
            .iter()
            .take_while(|(at, _)| *at <= t)
            .last()
            .map_or(self.0[0].1, |(_, v)| *v)
    }
}

#[derive(Debug, Clone)]
struct Scenario {
    duration_s: f64,
    capacity: Schedule,
    base_ms: Schedule,
    per_key_ms: f64,
    penalty: f64,
    jitter: f64,
    error_rate: Schedule,
    clients: Schedule,
    local_load: Schedule,
    keys_per_request: usize,
    max_batch: usize,
    /// Spread the clients over the limit, as the engine does for batches that mix requests
    /// (`ceil(clients / limit)` requests a call, within `max_batch`): more permits mean
    /// smaller calls, so goodput grows less than proportionally with the limit.
    spread: bool,
    seed: u64,
}

impl Scenario {
    fn steady(capacity: f64) -> Self {
        Scenario {
            duration_s: 20.0,
            capacity: Schedule::constant(capacity),
            base_ms: Schedule::constant(4.0),
            per_key_ms: 0.1,
            penalty: 0.5,
            jitter: 0.1,
            error_rate: Schedule::constant(0.0),
            clients: Schedule::constant(200.0),
            local_load: Schedule::constant(0.2),
            keys_per_request: 5,
            max_batch: 25,
            spread: false,
            seed: 1,
        }
    }
}

/// xorshift64* with Box-Muller: deterministic noise.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

struct Call {
    start: f64,
    /// Its place in the order of dispatch.
    seq: u64,
    remaining_ms: f64,
    requests: usize,
    in_flight: usize,
    limit: usize,
}

/// What a run produced: the limit after every sample, and goodput per 100 ms.
struct Run {
    /// (t_s, limit)
    limits: Vec<(f64, usize)>,
    /// keys completed successfully in each 100 ms bucket
    goodput: Vec<f64>,
    reasons: Vec<(f64, String)>,
}

impl Run {
    fn limit_stats(&self, from_s: f64, to_s: f64) -> (f64, f64) {
        // Time-weighted mean and std-dev of the limit.
        let mut sum = 0.0;
        let mut sq = 0.0;
        let mut total = 0.0;
        for pair in self.limits.windows(2) {
            let (t0, l) = pair[0];
            let t1 = pair[1].0;
            let (a, b) = (t0.max(from_s), t1.min(to_s));
            if b > a {
                let w = b - a;
                sum += w * l as f64;
                sq += w * (l * l) as f64;
                total += w;
            }
        }
        let mean = sum / total;
        (mean, (sq / total - mean * mean).max(0.0).sqrt())
    }

    fn keys_per_s(&self, from_s: f64, to_s: f64) -> f64 {
        let (a, b) = ((from_s * 10.0) as usize, (to_s * 10.0) as usize);
        self.goodput[a..b.min(self.goodput.len())]
            .iter()
            .sum::<f64>()
            / (to_s - from_s)
    }

    /// Seconds after `change_s` until the limit stays within 20% of `target` (up to `until_s`).
    fn reconverge_s(&self, change_s: f64, target: f64, until_s: f64) -> Option<f64> {
        let mut settled_at = change_s;
        // Each limit holds from its time until the next change.
        for pair in self.limits.windows(2) {
            let ((_, limit), (ends, _)) = (pair[0], pair[1]);
            if ends > change_s && ends <= until_s && (limit as f64 - target).abs() > 0.2 * target {
                settled_at = settled_at.max(ends);
            }
        }
        (settled_at < until_s - 1.0).then_some(settled_at - change_s)
    }

    /// The limits in force at some time in `[from_s, to_s)`.
    fn limits_in(&self, from_s: f64, to_s: f64) -> impl Iterator<Item = usize> + '_ {
        let at_start = self
            .limits
            .iter()
            .take_while(|(t, _)| *t <= from_s)
            .last()
            .map(|(_, l)| *l);
        at_start.into_iter().chain(
            self.limits
                .iter()
                .filter(move |(t, _)| *t > from_s && *t < to_s)
                .map(|(_, l)| *l),
        )
    }

    fn min_limit(&self, from_s: f64, to_s: f64) -> usize {
        self.limits_in(from_s, to_s).min().unwrap_or(0)
    }

    fn max_limit(&self, from_s: f64, to_s: f64) -> usize {
        self.limits_in(from_s, to_s).max().unwrap_or(0)
    }
}

fn simulate(scenario: &Scenario, strategy: &mut dyn ScalingStrategy) -> Run {
    let mut rng = Rng(scenario.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut now = 0.0f64;
    let mut calls: Vec<Call> = Vec::new();
    let mut queued_requests = scenario.clients.at(0.0) as usize;
    let mut clients = queued_requests;
    let mut run = Run {
        limits: vec![(0.0, strategy.limit())],
        goodput: vec![0.0; (scenario.duration_s * 10.0) as usize + 1],
        reasons: Vec::new(),
    };
    let mut last_reason = String::new();
    let mut granted = 0u64;
    let max_requests = (scenario.max_batch / scenario.keys_per_request).max(1);

    while now < scenario.duration_s {
        // New clients join (the schedule only grows in these scenarios).
        let wanted = scenario.clients.at(now) as usize;
        if wanted > clients {
            queued_requests += wanted - clients;
            clients = wanted;
        }
        // Dispatch: coalesce what is queued into calls while permits are free.
        let limit = strategy.limit();
        while calls.len() < limit && queued_requests > 0 {
            let per_call = if scenario.spread {
                clients.div_ceil(limit).clamp(1, max_requests)
            } else {
                max_requests
            };
            let requests = queued_requests.min(per_call);
            queued_requests -= requests;
            let keys = requests * scenario.keys_per_request;
            let jitter = (scenario.jitter * rng.normal()).exp();
            let work = (scenario.base_ms.at(now) + scenario.per_key_ms * keys as f64) * jitter;
            calls.push(Call {
                start: now,
                seq: granted,
                remaining_ms: work,
                requests,
                in_flight: calls.len() + 1,
                limit,
            });
            granted += 1;
        }
        if calls.is_empty() {
            now += 0.001;
            continue;
        }
        // Processor sharing: every call progresses at the same rate.
        let n = calls.len() as f64;
        let capacity = scenario.capacity.at(now);
        let rate =
            (capacity / n).min(1.0) / (1.0 + scenario.penalty * (n - capacity).max(0.0) / capacity);
        let (index, first) = calls
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.remaining_ms.total_cmp(&b.1.remaining_ms))
            .map(|(i, c)| (i, c.remaining_ms))
            .unwrap();
        // Do not step over a schedule change by more than 1 ms.
        let step_ms = (first / rate).min(1.0);
        now += step_ms / 1000.0;
        for call in &mut calls {
            call.remaining_ms -= step_ms * rate;
        }
        if calls[index].remaining_ms > 1e-9 {
            continue;
        }
        let call = calls.swap_remove(index);
        let failed = rng.uniform() < scenario.error_rate.at(call.start);
        let keys = call.requests * scenario.keys_per_request;
        if !failed {
            let bucket = ((now * 10.0) as usize).min(run.goodput.len() - 1);
            run.goodput[bucket] += keys as f64;
        }
        // Like the engine's `queued`: work waiting when this call finished, before its own
        // clients issue their next requests.
        let queued = queued_requests;
        queued_requests += call.requests;
        let sample = Sample {
            now: Duration::from_secs_f64(now),
            rtt: Duration::from_secs_f64(now - call.start),
            batch_size: keys,
            loads: keys,
            in_flight: call.in_flight,
            limit: call.limit,
            seq: call.seq,
            granted,
            done_below: calls.iter().map(|c| c.seq).min().unwrap_or(granted),
            queued,
            local_load: scenario.local_load.at(now),
            outcome: if failed {
                Outcome::Error
            } else {
                Outcome::Success
            },
            requests_ended: 0,
            group: 0,
        };
        let before = strategy.limit();
        let after = strategy.on_sample(&sample);
        if after != before {
            run.limits.push((now, after));
            if strategy.reason() != last_reason {
                last_reason = strategy.reason().to_string();
                run.reasons.push((now, last_reason.clone()));
            }
        }
    }
    run.limits.push((now, strategy.limit()));
    run
}

fn config(initial: usize) -> StrategyConfig {
    StrategyConfig {
        initial_concurrency: initial,
        ..StrategyConfig::default()
    }
}

fn adaptive_run(scenario: &Scenario) -> Run {
    simulate(scenario, &mut Adaptive::new(config(4)))
}

fn fixed_keys_per_s(scenario: &Scenario, limit: usize, from_s: f64, to_s: f64) -> f64 {
    simulate(scenario, &mut Fixed::new(limit)).keys_per_s(from_s, to_s)
}

#[test]
fn model_goodput_peaks_at_capacity() {
    let scenario = Scenario {
        duration_s: 4.0,
        ..Scenario::steady(16.0)
    };
    let at = |limit| fixed_keys_per_s(&scenario, limit, 1.0, 4.0);
    let (low, peak, high) = (at(8), at(16), at(32));
    assert!(peak > low * 1.1 && peak > high * 1.1, "{low} {peak} {high}");
}

#[test]
fn adaptive_converges_near_capacity_and_holds_it() {
    let scenario = Scenario::steady(32.0);
    let run = adaptive_run(&scenario);
    let (mean, std) = run.limit_stats(8.0, 20.0);
    assert!((27.0..=36.0).contains(&mean), "mean limit {mean}");
    assert!(std < 0.1 * mean, "limit std-dev {std} around {mean}");
    let oracle = fixed_keys_per_s(&scenario, 32, 8.0, 20.0);
    let keys = run.keys_per_s(8.0, 20.0);
    assert!(keys > 0.93 * oracle, "{keys} keys/s vs oracle {oracle}");
}

#[test]
fn adaptive_holds_limit_under_steady_plateau_with_noisy_latency() {
    let scenario = Scenario {
        capacity: Schedule::constant(24.0),
        jitter: 0.5,
        seed: 6,
        ..Scenario::steady(24.0)
    };
    let run = adaptive_run(&scenario);
    let (mean, std) = run.limit_stats(8.0, 20.0);
    assert!((19.0..=29.0).contains(&mean), "mean limit {mean}");
    // In this model a window is a few milliseconds while a probe waits a whole queue for
    // its first call: probes take a larger share of the time than in the simulator (CV
    // about 0.03 there), so the spread allowed here is wider than issue 17's 0.15.
    assert!(
        std < 0.25 * mean,
        "limit std-dev {std} around {mean}: {:?}",
        run.reasons
    );
}

#[test]
fn adaptive_tracks_capacity_step_down() {
    let scenario = Scenario {
        capacity: Schedule(vec![(0.0, 32.0), (10.0, 8.0)]),
        ..Scenario::steady(32.0)
    };
    let run = adaptive_run(&scenario);
    let took = run.reconverge_s(10.0, 8.0, 20.0);
    assert!(
        took.is_some_and(|s| s <= 2.0),
        "reconverged after {took:?}: {:?}",
        run.reasons
    );
}

#[test]
fn adaptive_tracks_capacity_step_up() {
    let scenario = Scenario {
        capacity: Schedule(vec![(0.0, 8.0), (10.0, 64.0)]),
        clients: Schedule::constant(400.0),
        ..Scenario::steady(8.0)
    };
    let run = adaptive_run(&scenario);
    let (mean, _) = run.limit_stats(5.0, 10.0);
    assert!((6.0..=10.0).contains(&mean), "limit before the step {mean}");
    let took = run.reconverge_s(10.0, 64.0, 20.0);
    assert!(
        took.is_some_and(|s| s <= 2.0),
        "reconverged after {took:?}: {:?}",
        run.reasons
    );
}

/// With batches spread over the permits (the engine's behaviour under concurrent load), a
/// step up gains less than proportionally; the climb must still reach the new capacity
/// within a few seconds.
#[test]
fn adaptive_tracks_capacity_step_up_with_spread_batches() {
    let scenario = Scenario {
        capacity: Schedule(vec![(0.0, 8.0), (10.0, 64.0)]),
        clients: Schedule::constant(300.0),
        max_batch: 210,
        spread: true,
        ..Scenario::steady(8.0)
    };
    let run = adaptive_run(&scenario);
    let took = run.reconverge_s(10.0, 64.0, 20.0);
    assert!(
        took.is_some_and(|s| s <= 6.0),
        "reconverged after {took:?}: {:?}",
        run.reasons
    );
}

#[test]
fn adaptive_does_not_collapse_on_pure_latency_shift() {
    // The base latency quadruples: calls slow down well past the alarm's factor, so the
    // alarm's experiment runs (a shift just at the factor is absorbed by the reference).
    let scenario = Scenario {
        base_ms: Schedule(vec![(0.0, 4.0), (10.0, 16.0)]),
        ..Scenario::steady(32.0)
    };
    let run = adaptive_run(&scenario);
    let (mean, _) = run.limit_stats(12.0, 20.0);
    assert!(
        mean >= 0.8 * 32.0,
        "limit fell to {mean} after a latency shift: {:?}",
        run.reasons
    );
    // The alarm's descent is the experiment that tells a latency shift from a capacity loss:
    // it loses goodput, so the limit goes back.
    assert!(
        run.reasons
            .iter()
            .any(|(_, r)| r.starts_with("latency shift: back")),
        "{:?}",
        run.reasons
    );
}

#[test]
fn adaptive_holds_through_an_error_burst_that_does_not_move_with_load() {
    let scenario = Scenario {
        error_rate: Schedule(vec![(0.0, 0.0), (8.0, 0.2), (12.0, 0.0)]),
        ..Scenario::steady(32.0)
    };
    let run = adaptive_run(&scenario);
    let (before, _) = run.limit_stats(5.0, 8.0);
    let (during, _) = run.limit_stats(8.0, 12.0);
    let (after, _) = run.limit_stats(12.0, 20.0);
    // Random failures cost every limit alike: no probe pays for them.
    for (when, limit) in [("during", during), ("after", after)] {
        assert!(
            (limit - before).abs() <= 0.2 * before,
            "limit {before} -> {limit} {when} the errors: {:?}",
            run.reasons
        );
    }
}

#[test]
fn adaptive_ignores_light_load() {
    // Four clients: at most four calls in flight, far below capacity.
    let scenario = Scenario {
        clients: Schedule(vec![(0.0, 4.0), (10.0, 200.0)]),
        ..Scenario::steady(32.0)
    };
    let run = adaptive_run(&scenario);
    let (low, high) = (run.min_limit(1.0, 10.0), run.max_limit(1.0, 10.0));
    assert!(
        low >= 3 && high <= 8,
        "limit wandered over [{low}, {high}] under light load"
    );
    // Then the burst is served near the oracle's goodput within two seconds.
    let oracle = fixed_keys_per_s(&scenario, 32, 12.0, 20.0);
    let keys = run.keys_per_s(12.0, 20.0);
    assert!(
        keys > 0.9 * oracle,
        "{keys} keys/s vs oracle {oracle}: {:?}",
        run.reasons
    );
}

#[test]
fn every_strategy_survives_the_closed_loop_within_bounds() {
    let scenario = Scenario {
        duration_s: 6.0,
        capacity: Schedule(vec![(0.0, 16.0), (3.0, 4.0)]),
        error_rate: Schedule(vec![(0.0, 0.0), (2.0, 0.3), (2.5, 0.0)]),
        ..Scenario::steady(16.0)
    };
    let bounds = StrategyConfig {
        min_concurrency: 2,
        initial_concurrency: 4,
        max_concurrency: 40,
    };
    for name in StrategyKind::NAMES {
        let mut strategy = name.parse::<StrategyKind>().unwrap().build(bounds);
        let run = simulate(&scenario, strategy.as_mut());
        assert!(
            run.limits.iter().all(|(_, l)| (2..=40).contains(l)),
            "{name}"
        );
    }
}

/// Prints the closed-loop figures of every strategy: `cargo test -p loader-core --test
/// strategies -- --ignored --nocapture`.
#[test]
#[ignore = "report, not a check"]
fn closed_loop_report() {
    // (name, scenario, (time of the change, capacity to reconverge to))
    type Case = (&'static str, Scenario, Option<(f64, f64)>);
    let scenarios: Vec<Case> = vec![
        ("steady-32", Scenario::steady(32.0), None),
        (
            "noisy-24",
            Scenario {
                capacity: Schedule::constant(24.0),
                jitter: 0.5,
                ..Scenario::steady(24.0)
            },
            None,
        ),
        (
            "step-down-32-8",
            Scenario {
                capacity: Schedule(vec![(0.0, 32.0), (10.0, 8.0)]),
                ..Scenario::steady(32.0)
            },
            Some((10.0, 8.0)),
        ),
        (
            "step-up-8-64",
            Scenario {
                capacity: Schedule(vec![(0.0, 8.0), (10.0, 64.0)]),
                clients: Schedule::constant(400.0),
                ..Scenario::steady(8.0)
            },
            Some((10.0, 64.0)),
        ),
        (
            "latency-shift-x3",
            Scenario {
                base_ms: Schedule(vec![(0.0, 4.0), (10.0, 16.0)]),
                ..Scenario::steady(32.0)
            },
            Some((10.0, 32.0)),
        ),
        (
            "error-burst",
            Scenario {
                error_rate: Schedule(vec![(0.0, 0.0), (8.0, 0.2), (12.0, 0.0)]),
                ..Scenario::steady(32.0)
            },
            Some((12.0, 32.0)),
        ),
        (
            "quiet-burst",
            Scenario {
                clients: Schedule(vec![(0.0, 4.0), (12.0, 200.0)]),
                ..Scenario::steady(32.0)
            },
            Some((12.0, 32.0)),
        ),
        (
            "coalescing-32",
            Scenario {
                clients: Schedule::constant(800.0),
                max_batch: 100,
                ..Scenario::steady(32.0)
            },
            None,
        ),
        (
            "slow-keys-16",
            Scenario {
                per_key_ms: 0.5,
                clients: Schedule::constant(400.0),
                ..Scenario::steady(16.0)
            },
            None,
        ),
    ];
    let seeds: u64 = std::env::var("SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let kinds: Vec<String> = std::env::var("KINDS").map_or_else(
        |_| {
            vec![
                "adaptive".into(),
                "aimd".into(),
                "vegas".into(),
                "gradient2".into(),
            ]
        },
        |k| k.split(',').map(String::from).collect(),
    );
    println!("scenario          strategy   limit mean  std   keys/s   % fixed@C  reconverge_s");
    for (name, scenario, change) in scenarios {
        let last_capacity = scenario.capacity.at(scenario.duration_s);
        let oracle = if std::env::var("SWEEP").is_ok() {
            let c = last_capacity as usize;
            let (best, keys) = (c / 2..=2 * c)
                .map(|l| (l, fixed_keys_per_s(&scenario, l, 14.0, 20.0)))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap();
            println!("{name}: oracle limit {best}");
            keys
        } else {
            fixed_keys_per_s(&scenario, last_capacity as usize, 14.0, 20.0)
        };
        for (kind, seed) in kinds.iter().flat_map(|k| (1..=seeds).map(move |s| (k, s))) {
            let scenario = Scenario {
                seed,
                ..scenario.clone()
            };
            let mut strategy = kind.parse::<StrategyKind>().unwrap().build(config(4));
            let run = simulate(&scenario, strategy.as_mut());
            if std::env::var("TRACE").is_ok_and(|t| t == name) {
                for (t, reason) in &run.reasons {
                    println!(
                        "  {t:7.3} {:>4} {reason}",
                        run.limits_in(*t, *t + 1e-9).last().unwrap_or(0)
                    );
                }
            }
            let (mean, std) = run.limit_stats(14.0, 20.0);
            let keys = run.keys_per_s(14.0, 20.0);
            let reconverge = change.and_then(|(at, target)| run.reconverge_s(at, target, 20.0));
            println!(
                "{name:<17} {kind:<10} {mean:>6.1} {std:>6.2} {keys:>9.0} {:>7.1}%   {reconverge:?}",
                100.0 * keys / oracle
            );
        }
    }
}

fn any_sample() -> impl Strategy<Value = (u64, u64, usize, usize, usize, f64, u8)> {
    (
        0u64..50,
        0u64..10_000,
        0usize..500,
        0usize..300,
        0usize..100,
        0.0f64..=1.0,
        0u8..3,
    )
}

proptest! {
    #[test]
    fn every_strategy_stays_within_bounds(
        min in 1usize..10,
        span in 0usize..100,
        initial in 0usize..200,
        samples in prop::collection::vec(any_sample(), 1..400),
    ) {
        let max = min + span;
        let config = StrategyConfig {
            min_concurrency: min,
            initial_concurrency: initial,
            max_concurrency: max,
        };
        let mut strategies: Vec<Box<dyn ScalingStrategy>> = vec![
            Box::new(Aimd::new(config)),
            Box::new(Vegas::new(config)),
            Box::new(Gradient2::new(config)),
            Box::new(Adaptive::new(config)),
        ];
        for strategy in &mut strategies {
            prop_assert!((min..=max).contains(&strategy.limit()));
            let mut now = Duration::ZERO;
            for (i, &(dt_ms, rtt_us, batch, in_flight, queued, load, outcome)) in
                samples.iter().enumerate()
            {
                now += Duration::from_millis(dt_ms);
                let sample = Sample {
                    now,
                    rtt: Duration::from_micros(rtt_us),
                    batch_size: batch,
                    loads: batch,
                    in_flight,
                    limit: strategy.limit(),
                    seq: i as u64,
                    granted: i as u64 + 1,
                    done_below: i as u64 + 1,
                    queued,
                    local_load: load,
                    outcome: match outcome {
                        0 => Outcome::Success,
                        1 => Outcome::Error,
                        _ => Outcome::Timeout,
                    },
                    requests_ended: 0, group: 0,
                };
                let limit = strategy.on_sample(&sample);
                let name = strategy.name();
                prop_assert!(limit >= 1 && (min..=max).contains(&limit), "{name} gave {limit}");
                prop_assert_eq!(limit, strategy.limit());
            }
            strategy.warm_start(initial * 3);
            prop_assert!((min..=max).contains(&strategy.limit()));
        }
    }
}
