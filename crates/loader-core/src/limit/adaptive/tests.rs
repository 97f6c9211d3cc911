//! The law against a synthetic downstream: processor sharing with an overload penalty, the
//! simulator's model (`loader-sim`'s `backend/model.rs`) without the engine around it.

use std::time::Duration;

use super::{Adaptive, Tuning};
use crate::limit::{FleetView, Outcome, Sample, ScalingStrategy, StrategyConfig};

/// A closed loop: every permit busy, a queue behind the limit, 10 keys per call.
struct Downstream {
    /// Calls it serves at full speed at once.
    capacity: f64,
    /// Extra slowdown per unit of relative overload.
    penalty: f64,
    /// Full-speed latency of one call, s.
    service: f64,
    /// Share of calls that fail whatever the load.
    errors: f64,
    /// Share of calls that fail per unit of relative overload.
    overload_errors: f64,
    /// Relative jitter of each call's latency.
    jitter: f64,
    now: f64,
    /// Calls dispatched so far: the next call's place in the order of dispatch.
    calls: u64,
    rng: u64,
}

impl Downstream {
    fn new(capacity: f64, penalty: f64) -> Self {
        Self {
            capacity,
            penalty,
            service: 0.010,
            errors: 0.0,
            overload_errors: 0.0,
            jitter: 0.2,
            now: 0.0,
            calls: 0,
            rng: 0x2545_F491_4F6C_DD1D,
        }
    }

    fn uniform(&mut self) -> f64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        (self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// One finished call under `limit`; the clock advances by the time between completions.
    fn call(&mut self, limit: usize) -> Sample {
        let n = limit as f64;
        let over = (n - self.capacity).max(0.0) / self.capacity;
        let slowdown = (n / self.capacity).max(1.0) * (1.0 + self.penalty * over);
        let rtt = self.service * slowdown * (1.0 + self.jitter * (2.0 * self.uniform() - 1.0));
        self.now += rtt / n;
        let fails = self.uniform() < self.errors + self.overload_errors * over;
        self.calls += 1;
        Sample {
            now: Duration::from_secs_f64(self.now),
            rtt: Duration::from_secs_f64(rtt),
            batch_size: 10,
            loads: 10,
            in_flight: limit,
            limit,
            seq: self.calls - 1,
            granted: self.calls,
            done_below: self.calls,
            queued: 4,
            local_load: 0.0,
            outcome: if fails {
                Outcome::Error
            } else {
                Outcome::Success
            },
            requests_ended: 0,
            group: 0,
        }
    }

    /// Runs `law` for `seconds` of model time; returns the limits seen, one per call.
    fn run(&mut self, law: &mut Adaptive, seconds: f64) -> Vec<usize> {
        let end = self.now + seconds;
        let mut limits = Vec::new();
        while self.now < end {
            let sample = self.call(law.limit());
            limits.push(law.on_sample(&sample));
        }
        limits
    }
}

fn law(initial: usize) -> Adaptive {
    law_with(initial, Tuning::default())
}

/// A law starting at `initial`, at most 512, with `tuning`.
fn law_with(initial: usize, tuning: Tuning) -> Adaptive {
    Adaptive::with_tuning(
        StrategyConfig {
            initial_concurrency: initial,
            max_concurrency: 512,
            ..StrategyConfig::default()
        },
        tuning,
    )
}

/// The mean of the last quarter of `limits`.
fn settled(limits: &[usize]) -> f64 {
    let tail = &limits[limits.len() * 3 / 4..];
    tail.iter().sum::<usize>() as f64 / tail.len() as f64
}

#[test]
fn it_climbs_to_the_knee_and_stays() {
    for capacity in [4.0, 32.0, 150.0] {
        let mut down = Downstream::new(capacity, 1.0);
        let mut law = law(4);
        let limits = down.run(&mut law, 30.0);
        let at = settled(&limits);
        assert!(
            (at - capacity).abs() <= (0.15 * capacity).max(1.0),
            "capacity {capacity}: settled at {at}"
        );
    }
}

#[test]
fn it_follows_a_capacity_that_falls_and_one_that_rises() {
    let mut down = Downstream::new(48.0, 1.5);
    let mut law = law(4);
    down.run(&mut law, 20.0);
    down.capacity = 12.0;
    let after = down.run(&mut law, 5.0);
    assert!(
        settled(&after) <= 12.0 * 1.2,
        "after the fall: {}",
        settled(&after)
    );
    down.capacity = 60.0;
    let after = down.run(&mut law, 10.0);
    assert!(
        settled(&after) >= 60.0 * 0.8,
        "after the rise: {}",
        settled(&after)
    );
}

#[test]
fn a_uniformly_slower_downstream_keeps_its_limit() {
    let mut down = Downstream::new(32.0, 1.0);
    let mut law = law(4);
    let before = settled(&down.run(&mut law, 20.0));
    down.service *= 3.0;
    let after = settled(&down.run(&mut law, 20.0));
    assert!(
        (after - before).abs() <= 0.2 * before,
        "before {before}, after {after}"
    );
}

#[test]
fn errors_that_do_not_move_with_the_limit_do_not_hold_it_down() {
    let mut down = Downstream::new(32.0, 1.0);
    down.errors = 0.2;
    let mut law = law(4);
    let at = settled(&down.run(&mut law, 30.0));
    assert!(at >= 32.0 * 0.8, "settled at {at}");
}

#[test]
fn errors_that_rise_with_the_limit_bring_it_down() {
    // No latency penalty at all: only the errors say that 32 is too many.
    let mut down = Downstream::new(32.0, 0.0);
    down.overload_errors = 1.0;
    let mut law = law(64);
    let at = settled(&down.run(&mut law, 30.0));
    assert!(at <= 32.0 * 1.2, "settled at {at}");
}

#[test]
fn a_limit_not_in_use_does_not_move() {
    let mut law = law(16);
    for i in 1..=5_000u64 {
        law.on_sample(&Sample {
            now: Duration::from_micros(500 * i),
            rtt: Duration::from_millis(10),
            batch_size: 10,
            loads: 10,
            in_flight: 3,
            limit: law.limit(),
            seq: i,
            granted: i + 1,
            done_below: i + 1,
            queued: 0,
            local_load: 0.0,
            outcome: Outcome::Success,
            requests_ended: 0,
            group: 0,
        });
    }
    assert_eq!(law.limit(), 16);
}

#[test]
fn probes_at_a_sharp_optimum_are_rare() {
    // Capacity 4, penalty 2: limit 5 serves ~60% of limit 4's goodput.
    let mut down = Downstream::new(4.0, 2.0);
    let mut law = law(4);
    let limits = down.run(&mut law, 60.0);
    let tail = &limits[limits.len() / 2..];
    let away = tail.iter().filter(|&&l| l != 4).count() as f64 / tail.len() as f64;
    assert!(away < 0.1, "{:.1}% of calls away from 4", away * 100.0);
}

#[test]
fn the_tuning_round_trips_through_serde() {
    let tuning = Tuning::default();
    let json = serde_json::to_string(&tuning).unwrap();
    assert_eq!(serde_json::from_str::<Tuning>(&json).unwrap(), tuning);
    assert!(serde_json::from_str::<Tuning>(r#"{"nope": 1}"#).is_err());
}

/// `replicas` replicas on one downstream, each seeing only its own calls, each told every
/// 250 ms of model time how many others there are and the permits they hold (as the
/// server's fleet sync does). Returns each replica's limits, one per call it saw.
fn shared_run(capacity: f64, penalty: f64, replicas: usize, seconds: f64) -> Vec<Vec<usize>> {
    let mut down = Downstream::new(capacity, penalty);
    let mut laws: Vec<Adaptive> = (0..replicas).map(|_| law(4)).collect();
    let mut limits = vec![Vec::new(); replicas];
    let mut now = 0.0;
    let mut next_sync = 0.0;
    let mut turn = 0u64;
    while now < seconds {
        if now >= next_sync {
            let total: usize = laws.iter().map(Adaptive::limit).sum();
            for law in laws.iter_mut() {
                let own = law.limit();
                law.set_fleet(FleetView {
                    replicas: replicas - 1,
                    others_permits: total - own,
                });
            }
            next_sync += 0.25;
        }
        let held: Vec<usize> = laws.iter().map(Adaptive::limit).collect();
        let n: usize = held.iter().sum();
        // Processor sharing across every replica's calls.
        let over = (n as f64 - capacity).max(0.0) / capacity;
        let slowdown = (n as f64 / capacity).max(1.0) * (1.0 + down.penalty * over);
        let jitter = 1.0 + down.jitter * (2.0 * down.uniform() - 1.0);
        let rtt = down.service * slowdown * jitter;
        now += rtt / n as f64;
        // The call that completes is a replica's in proportion to its calls in flight.
        let mut pick = (down.uniform() * n as f64) as usize;
        let me = held
            .iter()
            .position(|&l| {
                let mine = pick < l;
                pick = pick.saturating_sub(l);
                mine
            })
            .unwrap_or(replicas - 1);
        turn += 1;
        let mine = held[me];
        limits[me].push(laws[me].on_sample(&Sample {
            now: Duration::from_secs_f64(now),
            rtt: Duration::from_secs_f64(rtt),
            batch_size: 10,
            loads: 10,
            in_flight: mine,
            limit: mine,
            seq: turn - 1,
            granted: turn,
            done_below: turn,
            queued: 4,
            local_load: 0.0,
            outcome: Outcome::Success,
            requests_ended: 0,
            group: 0,
        }));
    }
    limits
}

/// The fleet's total limit, settled: the sum of each replica's settled limit.
fn fleet_settled(limits: &[Vec<usize>]) -> f64 {
    limits.iter().map(|l| settled(l)).sum()
}

#[test]
fn independent_replicas_share_the_capacity() {
    // A downstream that thrashes past its knee: a step up past it slows every replica's
    // calls by more than it takes from the others, so it neither pays nor is free.
    let limits = shared_run(32.0, 1.0, 2, 60.0);
    let total = fleet_settled(&limits);
    assert!(
        (total - 32.0).abs() <= 0.25 * 32.0,
        "replicas hold {total:.1} in all on a capacity of 32"
    );
}

/// Feeds up to `calls` calls, one per millisecond from `*now`, each with `in_flight` calls in
/// flight (capped by the limit), `queued` batches behind the limit, and latency `rtt_ms`;
/// stops early at the first change of the limit when `until_change`.
fn feed(
    law: &mut Adaptive,
    now: &mut Duration,
    calls: usize,
    call: (usize, usize, u64),
    until_change: bool,
) {
    feed_batches(law, now, calls, call, 10, until_change);
}

/// [`feed`] with `keys` keys per call.
fn feed_batches(
    law: &mut Adaptive,
    now: &mut Duration,
    calls: usize,
    call: (usize, usize, u64),
    keys: usize,
    until_change: bool,
) {
    feed_loads(law, now, calls, call, (keys, keys), until_change);
}

/// [`feed`] with `keys` distinct keys per call answering `loads` loads.
fn feed_loads(
    law: &mut Adaptive,
    now: &mut Duration,
    calls: usize,
    call: (usize, usize, u64),
    (keys, loads): (usize, usize),
    until_change: bool,
) {
    let (in_flight, queued, rtt_ms) = call;
    feed_each(
        law,
        now,
        calls,
        (in_flight, queued),
        (keys, loads),
        |_| (rtt_ms, 0, Outcome::Success),
        until_change,
    );
}

/// [`feed_loads`] where the `i`-th call's latency (ms), query group and outcome are
/// `each(i)`.
fn feed_each(
    law: &mut Adaptive,
    now: &mut Duration,
    calls: usize,
    (in_flight, queued): (usize, usize),
    (keys, loads): (usize, usize),
    each: impl Fn(usize) -> (u64, usize, Outcome),
    until_change: bool,
) {
    let start = law.limit();
    for i in 0..calls {
        *now += Duration::from_millis(1);
        let limit = law.limit();
        let (rtt_ms, group, outcome) = each(i);
        // One call a millisecond, each back before the next leaves.
        let seq = now.as_millis() as u64;
        law.on_sample(&Sample {
            now: *now,
            rtt: Duration::from_millis(rtt_ms),
            batch_size: keys,
            loads,
            in_flight: in_flight.min(limit),
            limit,
            seq,
            granted: seq + 1,
            done_below: seq + 1,
            queued,
            local_load: 0.0,
            outcome,
            requests_ended: 0,
            group,
        });
        if until_change && law.limit() != start {
            return;
        }
    }
}

/// A law held at 32 with a reference of 10 ms calls, the limit in use.
fn held_at_32(tuning: Tuning) -> (Adaptive, Duration) {
    let mut law = law_with(32, tuning);
    let mut now = Duration::ZERO;
    // One window (24 calls, at least 20 ms): the reference, short of the first probe.
    feed(&mut law, &mut now, 24, (32, 2, 10), false);
    assert_eq!(law.limit(), 32, "no probe yet: {}", law.reason());
    (law, now)
}

#[test]
fn the_alarm_watches_calls_that_do_not_fill_the_limit() {
    // A closed loop whose batches merge: 12 calls in flight under a limit of 32, never full,
    // and each call three times slower than the reference: the downstream lost capacity.
    let (mut law, mut now) = held_at_32(Tuning::default());
    feed(&mut law, &mut now, 200, (12, 0, 30), true);
    let limit = law.limit();
    // A window that did not use the limit still raises the alarm: 32 / 3^0.65 ≈ 15.7.
    assert_eq!(limit, 15, "descended to {limit} ({})", law.reason());

    // Without the rule the law waits for a window that uses the limit.
    let (mut law, mut now) = held_at_32(Tuning {
        watch: false,
        ..Tuning::default()
    });
    feed(&mut law, &mut now, 200, (12, 0, 30), true);
    assert_eq!(law.limit(), 32, "{}", law.reason());
}

#[test]
fn a_descent_that_lost_nothing_is_kept_even_if_the_new_limit_is_not_full() {
    let descend_then_run = |tuning: Tuning| {
        let (mut law, mut now) = held_at_32(tuning);
        // The alarm, with the limit in use: every call three times slower.
        feed(&mut law, &mut now, 200, (32, 2, 30), true);
        let descended = law.limit();
        assert!(descended < 32, "the alarm descends: {}", law.reason());
        // After the descent the merged batches leave the new limit half used, and more keys
        // per second are served by fewer, faster calls.
        feed(&mut law, &mut now, 200, (descended / 2, 0, 5), false);
        (descended, law.limit())
    };
    let (descended, after) = descend_then_run(Tuning::default());
    assert!(
        after <= descended,
        "kept at {after} (descended to {descended})"
    );
    let (_, after) = descend_then_run(Tuning {
        watch: false,
        ..Tuning::default()
    });
    assert_eq!(after, 32, "without the rule the descent goes back");
}

#[test]
fn a_descent_that_made_calls_fast_again_is_kept_even_if_its_window_lost_goodput() {
    // The alarm's window straddles the fall: calls 30 times slower. The descent's first window
    // still counts the keys of the old backlog as lost (one call in flight), yet its calls are
    // as fast as before the alarm: the slowdown was load, and the lower limit removed it.
    let descend_then_judge = |tuning: Tuning| {
        let (mut law, mut now) = held_at_32(tuning);
        feed(&mut law, &mut now, 2_000, (32, 2, 300), true);
        let descended = law.limit();
        assert!(descended < 32, "the alarm descends: {}", law.reason());
        // Goodput 1 × 10 keys / 12 ms = 833 keys/s against the alarm window's 1 067.
        feed(&mut law, &mut now, 400, (1, 2, 12), true);
        (descended, law.limit(), law.reason().to_owned())
    };
    let (descended, after, reason) = descend_then_judge(Tuning::default());
    assert!(
        after <= descended + 1,
        "kept near {descended}, then a probe up: at {after} ({reason})"
    );
    let (_, after, reason) = descend_then_judge(Tuning {
        relief: false,
        ..Tuning::default()
    });
    assert_eq!(
        after, 32,
        "without the rule it is read as a slower downstream ({reason})"
    );
}

#[test]
fn a_trend_in_demand_is_not_read_as_noise() {
    // Held at 32, demand grows: 20, 21, … calls in flight, one more per window (about 4% more
    // goodput each window), every window using the limit and no window noisier than the next.
    let noise_after_trend = |tuning: Tuning| {
        // No slow start: the first probe's fate is not what this measures.
        let (mut law, mut now) = held_at_32(Tuning {
            hold: 1_000,
            slow_start: false,
            ..tuning
        });
        for in_flight in 20..32 {
            feed(&mut law, &mut now, 24, (in_flight, 2, 10), false);
        }
        assert_eq!(law.limit(), 32, "no probe: {}", law.reason());
        law.noise
    };
    let noise = noise_after_trend(Tuning::default());
    // Window to window the goodput moves by 3-5%, / √2: the noise stays under 4%.
    assert!(noise < 0.04, "noise {noise:.3}");
    // Against the lagging reference the same trend reads as twice that or more.
    let against_reference = noise_after_trend(Tuning {
        diff_noise: false,
        ..Tuning::default()
    });
    assert!(
        against_reference > 2.0 * noise,
        "{against_reference:.3} against {noise:.3}"
    );
}

#[test]
fn a_probe_is_judged_on_the_loads_it_answered_not_on_its_distinct_keys() {
    // The probe up to 35 fills no more calls (32 in flight, a queue behind) and its calls take
    // 12 ms instead of 10: not free. Its batches hold the same 10 distinct keys, which now
    // answer 14 loads (larger batches share more keys between requests): 32 × 14 / 12 ms
    // = 37 333 loads/s against 32 000, so it pays. Counted in distinct keys (26 667/s) it
    // would have lost.
    let probe = |loads: usize| {
        let (mut law, mut now) = held_at_32(Tuning::default());
        feed(&mut law, &mut now, 200, (32, 2, 10), true);
        assert_eq!(law.limit(), 35, "the first probe: {}", law.reason());
        feed_loads(&mut law, &mut now, 200, (32, 2, 12), (10, loads), true);
        (law.limit(), law.reason().to_string())
    };
    let (limit, reason) = probe(14);
    assert!(limit > 35, "the probe paid: {limit} ({reason})");
    let (limit, reason) = probe(10);
    assert_eq!(
        limit, 32,
        "the same keys answering as many loads lost: {reason}"
    );
}

#[test]
fn a_fall_that_arrives_with_returning_demand_still_raises_the_alarm() {
    // Demand leaves (12 calls in flight under 32, no queue: the limit is not in use), then
    // comes back just as the downstream slows to 40 ms a call: the limit fills again, as it
    // would for returning demand alone. The alarm compares that window with the reference
    // from before (10 ms): its calls, some of them dispatched before the fall, are under 4
    // times slower (under `alarm²`: a moderate alarm), so the next window is compared with
    // that reference too, 4 times slower: a descent to 32 / 4^0.65 ≈ 12.997.
    let run = |tuning: Tuning| {
        let (mut law, mut now) = held_at_32(tuning);
        feed(&mut law, &mut now, 100, (12, 0, 10), true);
        assert_eq!(law.limit(), 32, "unused, unchanged: {}", law.reason());
        feed(&mut law, &mut now, 400, (32, 4, 40), true);
        (law.limit(), law.reason().to_string())
    };
    let (limit, reason) = run(Tuning::default());
    assert_eq!(limit, 12, "{reason}");
    assert_eq!(reason, "latency alarm: descent");
    // Without the rule the overloaded window becomes the reference: no alarm, the limit
    // does not descend in 400 calls (at most the next probe).
    let (limit, reason) = run(Tuning {
        return_alarm: false,
        ..Tuning::default()
    });
    assert!(
        limit >= 32,
        "no descent without the rule: {limit} ({reason})"
    );
}

#[test]
fn a_probe_is_judged_on_every_call_it_dispatched_not_on_the_first_back() {
    // Two kinds of calls, cheap (2.2 ms) and dear (19.8 ms), dispatched in turn. The probe up
    // to 35 slows the mean call from 10 to 11 ms: 35 × 10 / 11 ms against 32 × 10 / 10 ms
    // is no gain (−0.5%), and calls 10% slower are not free. Its cheap calls come back
    // first: measured on them alone, the probe would look 5 times faster and pay.
    let (mut law, mut now) = held_at_32(Tuning::default());
    feed(&mut law, &mut now, 200, (32, 2, 10), true);
    assert_eq!(law.limit(), 35, "the first probe: {}", law.reason());
    // The probe's calls: 48 dispatched at once, from the next `seq` on.
    let first = now.as_millis() as u64 + 1;
    let calls: Vec<(u64, u64)> = (0..48)
        .map(|i| (first + i, if i % 2 == 0 { 2_200 } else { 19_800 }))
        .collect();
    let mut out: std::collections::BTreeSet<u64> = calls.iter().map(|c| c.0).collect();
    let mut back: Vec<_> = calls.clone();
    back.sort_by_key(|&(seq, rtt_us)| (rtt_us, seq));
    for (seq, rtt_us) in back {
        now += Duration::from_micros(250);
        out.remove(&seq);
        law.on_sample(&Sample {
            now,
            rtt: Duration::from_micros(rtt_us),
            batch_size: 10,
            loads: 10,
            in_flight: 35,
            limit: 35,
            seq,
            granted: first + 48,
            done_below: out.first().copied().unwrap_or(first + 48),
            queued: 2,
            local_load: 0.0,
            outcome: Outcome::Success,
            requests_ended: 0,
            group: 0,
        });
    }
    assert_eq!(law.limit(), 32, "judged on all its calls: {}", law.reason());
    assert_eq!(law.reason(), "probe up did not pay");
}

#[test]
fn the_descent_takes_the_share_of_the_slowdown_set_by_descent() {
    // Calls three times slower: `limit / 3^descent`, from taking none of the slowdown for
    // load (0: no descent but one step) to all of it (1: the limit over the slowdown).
    for (descent, expected) in [(0.0, 29), (0.5, 18), (0.65, 15), (1.0, 10)] {
        let (mut law, mut now) = held_at_32(Tuning {
            descent,
            ..Tuning::default()
        });
        feed(&mut law, &mut now, 200, (32, 2, 30), true);
        assert_eq!(law.limit(), expected, "descent {descent}: {}", law.reason());
    }
}

#[test]
fn a_descent_that_did_not_cure_an_overload_does_not_make_it_the_reference() {
    // The downstream slows to 30 ms a call: the alarm descends to 32 / 3^0.65 ≈ 15.7.
    // There 15 calls take 70 ms for 18 keys: goodput lost and calls slower, so the law reads
    // a slower downstream and goes back. Back at
    // 32, calls take 200 ms: the reference is the alarm's window (30 ms), so the alarm fires
    // again. Re-learnt from this window, the reference would be the overload itself.
    let (mut law, mut now) = held_at_32(Tuning::default());
    feed(&mut law, &mut now, 200, (32, 2, 30), true);
    assert_eq!(law.limit(), 15, "{}", law.reason());
    feed_batches(&mut law, &mut now, 400, (15, 2, 70), 18, true);
    assert_eq!(law.limit(), 32, "{}", law.reason());
    assert_eq!(law.reason(), "latency shift: back, reference re-learnt");
    feed(&mut law, &mut now, 1_000, (32, 2, 200), true);
    assert_eq!(law.reason(), "latency alarm: descent");
    assert!(law.limit() < 32);
}

#[test]
fn failures_that_come_with_the_load_raise_the_alarm() {
    // Held at 32 with 10 ms calls; then the downstream fails three calls in five, as fast as
    // before: each answer costs 2.5 times the time it did. The alarm reads the latency per
    // good load and descends one step (the latency itself did not move); reading the mean
    // latency alone, it sees nothing, and the next change is the scheduled probe.
    let first_change = |tuning: Tuning| {
        let (mut law, mut now) = held_at_32(tuning);
        let three_in_five_fail = |i: usize| {
            if i % 5 < 3 {
                Outcome::Error
            } else {
                Outcome::Success
            }
        };
        feed_each(
            &mut law,
            &mut now,
            400,
            (32, 2),
            (10, 10),
            |i| (10, 0, three_in_five_fail(i)),
            true,
        );
        (law.limit(), law.reason().to_owned())
    };
    let (limit, reason) = first_change(Tuning::default());
    assert_eq!(
        (limit, reason.as_str()),
        (29, "latency alarm: descent"),
        "32 less one step"
    );
    let (limit, reason) = first_change(Tuning {
        alarm_errors: false,
        ..Tuning::default()
    });
    assert_eq!((limit, reason.as_str()), (35, "probe up"));
}

#[test]
fn more_calls_of_a_dearer_group_are_not_read_as_a_slower_downstream() {
    // Two query groups under one limit: calls of group 0 take 10 ms, of group 1 80 ms. The
    // reference is learnt while one call in five is of group 1 (24 ms on average); then nine
    // in ten are (73 ms on average, three times the reference), each group as fast as before.
    // `slow` multiplies both groups' latencies after the shift.
    let first_change = |tuning: Tuning, slow: u64| {
        let mut law = law_with(32, tuning);
        let mut now = Duration::ZERO;
        let call = |dear: bool, slow: u64| {
            if dear {
                (80 * slow, 1, Outcome::Success)
            } else {
                (10 * slow, 0, Outcome::Success)
            }
        };
        feed_each(
            &mut law,
            &mut now,
            60,
            (32, 2),
            (10, 10),
            |i| call(i % 5 == 0, 1),
            false,
        );
        assert_eq!(law.limit(), 32, "no probe yet: {}", law.reason());
        // Enough calls for two windows of the slowest calls (the alarm confirms a moderate
        // slowdown on its second window).
        feed_each(
            &mut law,
            &mut now,
            1_500,
            (32, 2),
            (10, 10),
            |i| call(i % 10 != 0, slow),
            true,
        );
        (law.limit(), law.reason().to_owned())
    };
    // Compared group by group the calls are as fast as before: the next change is the
    // scheduled probe up, one step.
    let (limit, reason) = first_change(Tuning::default(), 1);
    assert_eq!((limit, reason.as_str()), (35, "probe up"));
    // Compared on the mean latency of all calls, the shift of the mix raises the alarm.
    let (limit, reason) = first_change(
        Tuning {
            by_group: false,
            ..Tuning::default()
        },
        1,
    );
    assert_eq!(reason, "latency alarm: descent", "at {limit}");
    // Both groups three times slower is still a slowdown, group by group.
    let (limit, reason) = first_change(Tuning::default(), 3);
    assert_eq!(reason, "latency alarm: descent", "at {limit}");
}

#[test]
fn a_cold_start_climbs_on_latency_until_a_probe_goes_back() {
    // From a cold start at 4, the first probe up (to 5) lands in a trough of demand: its
    // calls answer 4 loads instead of 10 (goodput -50%), at the same latency. Before any
    // probe went back the goodput's noise is unmeasured, so calls no slower keep it and the
    // climb goes on (slow start); without the rule it goes back, and the hold backs off.
    let first_probe = |tuning: Tuning| {
        let mut law = law_with(4, tuning);
        let mut now = Duration::ZERO;
        feed(&mut law, &mut now, 200, (4, 2, 10), true);
        assert_eq!(law.limit(), 5, "the first probe: {}", law.reason());
        feed_loads(&mut law, &mut now, 200, (5, 2, 10), (4, 4), true);
        (law.limit(), law.reason().to_string())
    };
    assert_eq!(
        first_probe(Tuning::default()),
        (7, "probe up".to_string()),
        "kept: the climb's next step"
    );
    let off = Tuning {
        slow_start: false,
        ..Tuning::default()
    };
    assert_eq!(first_probe(off), (4, "probe up did not pay".to_string()));

    // Once a probe went back (here the first, its calls 1.5x slower), the slow start is
    // over: a later probe up into the same trough goes back too.
    let mut law = law(4);
    let mut now = Duration::ZERO;
    feed(&mut law, &mut now, 200, (4, 2, 10), true);
    feed(&mut law, &mut now, 200, (5, 2, 15), true);
    assert_eq!(law.limit(), 4, "{}", law.reason());
    loop {
        feed(&mut law, &mut now, 2_000, (4, 2, 10), true);
        let probe = law.limit();
        let up = probe > 4;
        if up {
            feed_loads(&mut law, &mut now, 200, (probe, 2, 10), (4, 4), true);
        } else {
            // a probe down: its calls no faster, its goodput lower, so it goes back
            feed(&mut law, &mut now, 200, (probe, 2, 10), true);
        }
        assert_eq!(law.limit(), 4, "sent back: {}", law.reason());
        if up {
            break;
        }
    }
}

#[test]
fn a_warm_start_does_not_slow_start() {
    // Restored from a learned limit, the first probe up that loses goodput at the same
    // latency goes back: the slow start is for a limit that knows nothing yet.
    let mut law = law(4);
    law.warm_start(20);
    let mut now = Duration::ZERO;
    feed(&mut law, &mut now, 2_000, (20, 2, 10), true);
    let probe = law.limit();
    assert!(probe > 20, "a probe up first: {}", law.reason());
    feed_loads(&mut law, &mut now, 200, (probe, 2, 10), (4, 4), true);
    assert_eq!(law.limit(), 20, "{}", law.reason());
}

#[test]
fn a_host_that_stalls_for_one_window_does_not_start_a_descent() {
    // Calls three times slower (30 ms): without the rule, the first window over the alarm
    // starts the descent, after `stalled` calls.
    let (mut law, mut now) = held_at_32(Tuning {
        confirm: false,
        ..Tuning::default()
    });
    let before = now;
    feed(&mut law, &mut now, 400, (32, 2, 30), true);
    assert_eq!(law.reason(), "latency alarm: descent");
    assert_eq!(law.limit(), 15);
    let stalled = (now - before).as_millis() as usize;
    // With it, the same window of slow calls (a host that stalled), then calls as fast as
    // before: no descent.
    let (mut law, mut now) = held_at_32(Tuning::default());
    feed(&mut law, &mut now, stalled, (32, 2, 30), true);
    assert_eq!(law.limit(), 32, "one window waits: {}", law.reason());
    feed(&mut law, &mut now, 400, (32, 2, 10), true);
    assert_ne!(law.reason(), "latency alarm: descent");
    assert!(law.limit() >= 32, "{} ({})", law.limit(), law.reason());
}

#[test]
fn a_slowdown_that_lasts_or_is_severe_starts_the_descent() {
    // Three times slower for two windows: confirmed, 32 / 3^0.65 ≈ 15.7.
    let (mut law, mut now) = held_at_32(Tuning::default());
    feed(&mut law, &mut now, 400, (32, 2, 30), true);
    assert_eq!(law.reason(), "latency alarm: descent");
    assert_eq!(law.limit(), 15);
    // Five times slower (over alarm², 4): on the first window, 32 / 5^0.65 ≈ 11.2; a
    // moderate slowdown would have waited for a second window of 100 calls or more.
    let (mut law, mut now) = held_at_32(Tuning::default());
    let before = now;
    feed(&mut law, &mut now, 400, (32, 2, 50), true);
    assert_eq!(law.reason(), "latency alarm: descent");
    assert_eq!(law.limit(), 11);
    assert!((now - before).as_millis() < 200, "{:?}", now - before);
}

/// A warm law at 32 whose fleet's other replicas hold `others` permits, fed held windows of
/// 100 ms calls until its first probe, then that probe's window with calls slowed by 2% and
/// one call more in flight (goodput up 1%, short of paying). Returns the limit after it.
fn probe_slowed_by_2_percent(others: usize, tuning: Tuning) -> usize {
    let mut law = law_with(32, tuning);
    law.warm_start(32);
    if others > 0 {
        law.set_fleet(FleetView {
            replicas: 3,
            others_permits: others,
        });
    }
    let mut now = Duration::ZERO;
    feed(&mut law, &mut now, 5_000, (32, 2, 100), true);
    assert_eq!(
        law.limit(),
        35,
        "the first probe is up by 3: {}",
        law.reason()
    );
    feed(&mut law, &mut now, 5_000, (33, 2, 102), true);
    law.limit()
}

#[test]
fn in_a_fleet_a_probe_is_free_only_if_it_is_small_against_the_fleets_permits() {
    // Alone, a step of 3 on 32 (9%) that slowed calls by 2% is below the knee: free, and a
    // climb follows (35 + 6).
    assert_eq!(probe_slowed_by_2_percent(0, Tuning::default()), 41);
    // With 96 permits of other replicas on the same downstream the step is 3 of 128 (2.3%):
    // calls 2% slower is the knee's answer to it, so it goes back.
    assert_eq!(probe_slowed_by_2_percent(96, Tuning::default()), 32);
    // Without the rule the fleet's permits are not counted, and the step is kept.
    let alone = Tuning {
        fleet_free: false,
        ..Tuning::default()
    };
    assert_eq!(probe_slowed_by_2_percent(96, alone), 41);
}
