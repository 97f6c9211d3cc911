//! Adaptive, the default strategy: one law. Keep a change of the limit only when it pays,
//! probe rarely, and let a latency alarm start the descent when the downstream slows down.
//!
//! The whole behaviour is documented on [`Adaptive`] and in `docs/adaptive.md`.

use super::{FleetView, Outcome, Sample, ScalingStrategy, StrategyConfig};

/// The law's constants. Every field has a default; the simulator's `--set NAME=VALUE` and
/// `adaptive[NAME=VALUE]` override them by name.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tuning {
    /// A window holds at least this many calls dispatched under the limit it measures.
    /// By default, this is `24`.
    pub window_calls: usize,
    /// A window lasts at least this many mean call latencies. By default, this is `2.0`.
    pub window_rtts: f64,
    /// The smallest relative goodput gain that counts as a gain. By default, this is `0.02`.
    pub min_gain: f64,
    /// A gain must also exceed this many times the measured window-to-window noise.
    /// By default, this is `2.0`.
    pub noise_z: f64,
    /// A probe moves the limit by this fraction of it (at least 1). By default, this is `0.1`.
    pub step: f64,
    /// Held windows before the first probe after a change. By default, this is `4`.
    pub hold: u32,
    /// Held windows between probes at most: the hold doubles after each probe that did not
    /// pay, up to this. By default, this is `32`.
    pub max_hold: u32,
    /// A held window whose calls were this many times slower than the reference's, per good
    /// load (over the share of loads answered), starts a descent. `0` switches the
    /// alarm off. By default, this is `2.0`.
    pub alarm: f64,
    /// Weight of each held window in the reference (an EWMA). By default, this is `0.3`.
    pub smoothing: f64,
    /// The alarm's descent aims at `limit / slowdown^descent`: `1` if all of the slowdown
    /// were load (calls queueing past the knee), `0` if it were all the downstream's own.
    /// By default, this is `0.65`.
    pub descent: f64,
    /// Rule switch (for ablations): a step that keeps the goodput is kept when calls did not
    /// slow down (up) or got faster (down). By default, this is `true`.
    pub free: bool,
    /// Rule switch (for ablations): a step that paid is followed at once by one twice as
    /// big, and a big step that did not pay by one half as big. By default, this is `true`.
    pub climb: bool,
    /// Rule switch (for ablations): the alarm also watches windows that did not use the limit,
    /// and a descent is judged on its window whether or not it used the limit. By default,
    /// this is `true`.
    pub watch: bool,
    /// Signal switch (for ablations): the noise is measured between consecutive held windows
    /// at the same limit, so a trend in demand is not read as noise; `false` measures it
    /// against the reference. By default, this is `true`.
    pub diff_noise: bool,
    /// Rule switch (for ablations): a descent whose calls got faster than the geometric mean
    /// of the latencies before and during the alarm is kept, whatever its goodput (the
    /// slowdown was load). By default, this is `true`.
    pub relief: bool,
    /// Rule switch (for ablations): when demand comes back after windows that did not use the
    /// limit, the alarm still compares its first window with the reference before the
    /// reference is re-learnt. By default, this is `true`.
    pub return_alarm: bool,
    /// Signal switch (for ablations): the alarm reads the latency per good load, so that
    /// failures count as lost time; `false` reads the mean call latency alone. By default,
    /// this is `true`.
    pub alarm_errors: bool,
    /// Signal switch (for ablations): latencies are compared query group by query group
    /// ([`Sample::group`]), so that a window with more calls of a dearer group is not read as
    /// a slower downstream; `false` compares the mean latency of all calls. By default, this
    /// is `true`.
    pub by_group: bool,
    /// Rule switch (for ablations): from a cold start until the first probe that is not
    /// kept (or the alarm), a probe up whose window used the limit is kept when its calls
    /// slowed by less than half its step, whatever its goodput (a slow start: the noise of
    /// the goodput is not measured yet). By default, this is `true`.
    pub slow_start: bool,
    /// Rule switch (for ablations): a moderate alarm, a slowdown per good load between
    /// `alarm` and `alarm²`, starts the descent only if the next held window is over the
    /// alarm too; a slowdown of `alarm²` or more starts it at once. A host that stalls for a
    /// moment slows one window; a downstream pushed past its knee slows every window after.
    /// By default, this is `true`.
    pub confirm: bool,
    /// Rule switch (for ablations): in a fleet, a step's relative size `r` in the free test
    /// (calls slowed by less than `r / 2`) is taken against the fleet's permits, this
    /// replica's limit plus the others' ([`FleetView::others_permits`]): past the knee a step
    /// slows every replica's calls by its share of the downstream's concurrency, not of this
    /// replica's limit. `false` takes it against this replica's limit alone. By default, this
    /// is `true`.
    pub fleet_free: bool,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            window_calls: 24,
            window_rtts: 2.0,
            min_gain: 0.02,
            noise_z: 2.0,
            step: 0.1,
            hold: 4,
            max_hold: 32,
            alarm: 2.0,
            smoothing: 0.3,
            descent: 0.65,
            free: true,
            climb: true,
            watch: true,
            diff_noise: true,
            relief: true,
            return_alarm: true,
            alarm_errors: true,
            by_group: true,
            slow_start: true,
            confirm: true,
            fleet_free: true,
        }
    }
}

/// Query groups told apart by the latency comparisons: group `i` lands in slot
/// `i % GROUP_SLOTS`, and groups that share a slot are compared as one.
const GROUP_SLOTS: usize = 8;

/// The calls of one query group (slot) in a window: their count and their mean latency (s).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct GroupCalls {
    calls: f64,
    rtt: f64,
}

/// What one window measured.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Measure {
    /// Good loads per second (Little's law: mean in flight × good loads / Σ latency).
    goodput: f64,
    /// Mean call latency, s.
    rtt: f64,
    /// Share of the loads answered (not failed or timed out).
    good: f64,
    /// The same calls by query group.
    groups: [GroupCalls; GROUP_SLOTS],
}

impl Measure {
    /// How much slower this window's calls were than `reference`'s: the time they took over
    /// the time the same calls took in the reference, each call against the mean of its own
    /// group there, `Σ n_g × rtt_g / Σ n_g × rtt_ref_g` over the groups both windows hold.
    /// A window with a larger share of a dear group is then no slower for it. With one group,
    /// or none in common, or `by_group` off: the ratio of the mean latencies.
    fn slowdown(&self, reference: &Measure, by_group: bool) -> f64 {
        let (mut now, mut then) = (0.0, 0.0);
        if by_group {
            for (g, r) in self.groups.iter().zip(&reference.groups) {
                if g.calls > 0.0 && r.calls > 0.0 {
                    now += g.calls * g.rtt;
                    then += g.calls * r.rtt;
                }
            }
        }
        if then <= 0.0 {
            return self.rtt / reference.rtt.max(1e-12);
        }
        now / then
    }

    /// The reference after one more held window `m`, weighted `a` (an EWMA); a group that
    /// only one of them holds keeps that one's figures.
    fn blend(&self, m: &Measure, a: f64) -> Measure {
        let mix = |x: f64, y: f64| (1.0 - a) * x + a * y;
        let mut groups = self.groups;
        for (g, n) in groups.iter_mut().zip(&m.groups) {
            *g = match (g.calls > 0.0, n.calls > 0.0) {
                (true, true) => GroupCalls {
                    calls: mix(g.calls, n.calls),
                    rtt: mix(g.rtt, n.rtt),
                },
                (false, true) => *n,
                _ => *g,
            };
        }
        Measure {
            goodput: mix(self.goodput, m.goodput),
            rtt: mix(self.rtt, m.rtt),
            good: mix(self.good, m.good),
            groups,
        }
    }
}

/// One window: the calls dispatched (under the limit it measures) from the `Sample::seq`
/// `from` up to `to`, and the sums over those that came back. Its end is fixed once enough
/// calls were dispatched over long enough; it is measured once every one of them came back,
/// so that slow calls weigh in it as much as they did in the load, whatever order they
/// finished in.
#[derive(Debug, Clone, Copy, Default)]
struct Window {
    from: u64,
    to: Option<u64>,
    /// When its first call could be dispatched, s.
    start: f64,
    calls: usize,
    in_flight: f64,
    rtt: f64,
    good_loads: f64,
    loads: f64,
    binding: usize,
    /// Sums by query group: calls, latency (s).
    groups: [GroupCalls; GROUP_SLOTS],
}

impl Window {
    /// A window of the calls dispatched from `from` on, which opened at `start`.
    fn starting(from: u64, start: f64) -> Self {
        Self {
            from,
            start,
            ..Self::default()
        }
    }

    fn add(&mut self, sample: &Sample) {
        self.calls += 1;
        self.in_flight += sample.in_flight as f64;
        self.rtt += sample.rtt.as_secs_f64();
        let group = &mut self.groups[sample.group % GROUP_SLOTS];
        group.calls += 1.0;
        group.rtt += sample.rtt.as_secs_f64();
        self.loads += sample.loads as f64;
        if sample.outcome == Outcome::Success {
            self.good_loads += sample.loads as f64;
        }
        if sample.queued > 0 || sample.in_flight >= sample.limit {
            self.binding += 1;
        }
    }

    /// Whether its dispatches may end at `granted`: at least `window_calls` calls over at
    /// least `window_rtts` mean latencies of those back so far.
    fn long_enough(&self, granted: u64, now: f64, tuning: &Tuning) -> bool {
        self.calls > 0
            && granted.saturating_sub(self.from) >= tuning.window_calls as u64
            && now - self.start >= tuning.window_rtts * self.rtt / self.calls as f64
    }

    /// The measure of the calls that came back (none when all were cancelled).
    fn measure(&self) -> Option<Measure> {
        if self.calls == 0 {
            return None;
        }
        Some(Measure {
            goodput: self.in_flight / self.calls as f64 * self.good_loads / self.rtt.max(1e-9),
            rtt: self.rtt / self.calls as f64,
            good: if self.loads > 0.0 {
                self.good_loads / self.loads
            } else {
                1.0
            },
            groups: self.groups.map(|g| GroupCalls {
                calls: g.calls,
                rtt: g.rtt / g.calls.max(1.0),
            }),
        })
    }

    /// Whether the limit was in use: most calls found it full or a queue behind it.
    fn binding(&self) -> bool {
        2 * self.binding >= self.calls
    }
}

/// The change being tried, judged at the end of its first window.
#[derive(Debug, Clone, Copy, PartialEq)]
// One trial at a time lives in the strategy, never in a collection: its size does not matter.
#[allow(clippy::large_enum_variant)]
enum Trial {
    /// One step up or down from `base`.
    Probe { base: usize, step: usize, up: bool },
    /// The alarm's descent from `base` towards `limit / slowdown^descent`; `calm` is the
    /// reference before the alarm, the slowdown is against it.
    Descent { base: usize, calm: Measure },
}

/// The default strategy: the largest goodput, found by changes that must pay.
///
/// # The law
///
/// The controller measures **goodput** (good loads per second, by Little's law from the calls
/// of a window) and the mean call latency in windows. A window is every call dispatched in
/// an interval under the limit it measures, at least [`Tuning::window_calls`] calls over at
/// least [`Tuning::window_rtts`] mean latencies, and it is measured once all of them are back
/// ([`Sample::seq`], [`Sample::done_below`]): slow calls weigh in it as they did in the load.
/// Measured on the first calls back instead, the window after every change would hold the
/// cheap calls dispatched after it and not yet the dear ones, and every change would look
/// like a gain. A load is what a caller asked for ([`Sample::loads`]): a key that
/// two requests share counts twice, so a limit that merges more requests into each batch is
/// not taken for one that serves less. Latencies are compared as a **slowdown**: the time a
/// window's calls took over the time the same calls took in the other window, each call
/// against the mean latency of its own query group there ([`Sample::group`],
/// [`Tuning::by_group`]), so that a window with more calls of a dearer group is not read as
/// a slower downstream. Every change of the limit is an experiment, judged against the
/// goodput before it; a change is kept when it **pays** or is **free**:
///
/// ```text
/// gain  = goodput(new) / goodput(before) - 1
/// pays  when gain > θ,  θ = max(min_gain, noise_z × noise)
/// noise = EWMA of |goodput(window) / goodput(previous held window) - 1| / √2
/// free  when gain > -θ and the slowdown (new against before) is below 1 + r / 2 (up),
///       or below 1 - r / 2 (down); r = step / (limit + the other replicas' permits)
/// ```
///
/// A downstream past its knee slows every call in proportion to the calls in flight, so a
/// step of relative size `r` moves the latency by about `r` there and by about nothing below
/// the knee: `r / 2` tells the two apart. In a fleet the calls in flight are every
/// replica's ([`FleetView::others_permits`], [`Tuning::fleet_free`]).
///
/// - **Hold**: the limit stays; the reference (goodput, latency) is an EWMA of the held
///   windows. After `hold` windows, one **probe**: the limit ± `max(1, step × limit)`, up
///   and down in turn.
/// - **Probe up** kept (pays or free): the next probe follows at once with twice the step
///   (a climb). Not kept: a step bigger than the base step is halved (a bisection);
///   otherwise the limit goes back.
/// - **Slow start**: from a cold start until the first probe that is not kept (or the
///   alarm), a probe up is also kept when its calls slowed by less than `r / 2`, whatever
///   its goodput: the noise of the goodput is not measured yet (the reference is a window
///   or two), and a closed loop's demand swings widely at a low initial limit, so a first
///   probe judged on goodput could fail in a trough and back the hold off for seconds
///   ([`Tuning::slow_start`]). A warm start (a learned limit) skips it.
/// - **Probe down** kept: the descent goes on with twice the step. Otherwise the limit goes
///   back.
/// - Each probe that goes back doubles the hold (up to `max_hold`): at a steady optimum the
///   probes become rare, so exploring costs little. A kept change, or demand coming back
///   after windows that did not use the limit, resets it (and re-learns the reference,
///   after the alarm has compared the first window of returning demand with the old one:
///   a capacity that fell while the limit was unused shows first there,
///   [`Tuning::return_alarm`]).
/// - **Alarm**: a held window whose slowdown against the reference, per good load (over the
///   share of loads answered, [`Tuning::alarm_errors`]), exceeds `alarm` starts a
///   **descent** to `limit / slowdown^descent`, at least one step. Kept if no goodput was
///   lost (the downstream lost capacity): while calls are still `alarm` × slower than
///   before the alarm it descends again, then a probe up follows (an overloaded downstream
///   that thrashes makes the descent overshoot). Goodput lost while calls stayed slow
///   (nearer the alarm's latency than the reference's, in ratio): the downstream itself got
///   slower (same capacity), so the limit goes back and the alarm's window becomes the
///   reference. Calls that got fast again mean the slowdown was load: the descent is kept
///   ([`Tuning::relief`]).
/// - **Confirmation**: a moderate alarm, a slowdown under `alarm²`, starts the descent only
///   if the next held window is over the alarm too, and then from the slower of the two
///   ([`Tuning::confirm`]): a host that stalls (a noisy neighbour, a checkpoint) slows a
///   window whatever the limit, and the next one is fast again; a downstream pushed past
///   its knee slows every window after.
///
/// Windows in which the limit was not in use (fewer than half of the calls found the limit
/// full or a queue behind it) decide no probe, and a probe measured in one goes back. They
/// still raise the alarm, and a descent is judged in one ([`Tuning::watch`]): in a closed
/// loop the engine's batching often keeps the calls in flight under the limit (the keys of
/// the requests a call releases merge into one batch), yet the limit still lets their peaks
/// past a knee that fell, and the calls' latency says so.
///
/// Errors enter through goodput (failed calls answer no key) and through the alarm (a
/// failed load is time spent for no answer). Errors whose rate does not move with the limit
/// cost every limit alike, so no probe pays for them, and a descent they alarm loses
/// goodput and usually goes back, as for a slower downstream (the descent is judged on
/// latency, which such errors leave unchanged); errors that rise with the limit make
/// the lower limit pay, and when they come at once (a capacity that fell past the point
/// where the downstream fails rather than slows) the alarm starts the descent.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use loader_core::limit::{Adaptive, Outcome, Sample, ScalingStrategy, StrategyConfig};
///
/// let mut adaptive = Adaptive::new(StrategyConfig { initial_concurrency: 4, ..Default::default() });
/// // A downstream with room for 32 calls, each taking 10 ms for 10 keys: every probe up pays.
/// let mut now = Duration::ZERO;
/// for seq in 0..4_000 {
///     now += Duration::from_micros(500);
///     let limit = adaptive.limit();
///     // Calls in order of dispatch (`seq`), each back before the next one's sample.
///     adaptive.on_sample(&Sample {
///         now, rtt: Duration::from_millis(10), batch_size: 10, loads: 10, in_flight: limit, limit,
///         seq, granted: seq + 1, done_below: seq + 1,
///         queued: 1, local_load: 0.0, outcome: Outcome::Success, requests_ended: 0, group: 0,
///     });
/// }
/// assert!(adaptive.limit() > 4);
/// ```
#[derive(Debug, Clone)]
pub struct Adaptive {
    config: StrategyConfig,
    tuning: Tuning,
    limit: usize,
    window: Window,
    /// The calls dispatched after the window's end, while it waits for its last calls.
    next: Window,
    /// The latest `Sample::granted` and `Sample::now` (s): where a new window starts.
    granted: u64,
    now: f64,
    reference: Option<Measure>,
    noise: f64,
    trial: Option<(Trial, Measure)>,
    hold: u32,
    held: u32,
    next_up: bool,
    reason: &'static str,
    /// The last held window found the limit not in use.
    idle: bool,
    /// Replicas sharing the downstream: only the first view counts (a cold start's share).
    fleet: FleetView,
    /// Started from a learned limit.
    warm: bool,
    /// The previous held window at this limit (for the noise).
    last_held: Option<Measure>,
    /// A cold start's climb: no probe sent back yet, no alarm (`Tuning::slow_start`).
    cold: bool,
    /// The last held window raised a moderate alarm, which waits for the next one
    /// (`Tuning::confirm`). The reference does not move while it waits (the window is not
    /// learnt), so its slowdown is measured again from it.
    pending: Option<Measure>,
}

impl Adaptive {
    /// Starts at `config.initial_concurrency` with the default [`Tuning`].
    pub fn new(config: StrategyConfig) -> Self {
        Self::with_tuning(config, Tuning::default())
    }

    /// Starts at `config.initial_concurrency` with `tuning`.
    pub fn with_tuning(config: StrategyConfig, tuning: Tuning) -> Self {
        Self {
            config,
            tuning,
            limit: config.clamp(config.initial_concurrency),
            window: Window::default(),
            next: Window::default(),
            granted: 0,
            now: 0.0,
            reference: None,
            noise: tuning.min_gain,
            trial: None,
            hold: tuning.hold.max(1),
            // The first probe (up) comes after the first held window: a climb from the start.
            held: tuning.hold.max(1) - 1,
            next_up: true,
            reason: "initial limit",
            idle: false,
            fleet: FleetView::default(),
            warm: false,
            last_held: None,
            cold: true,
            pending: None,
        }
    }

    /// The tuning in force.
    pub fn tuning(&self) -> &Tuning {
        &self.tuning
    }

    fn threshold(&self) -> f64 {
        self.tuning.min_gain.max(self.tuning.noise_z * self.noise)
    }

    fn set(&mut self, limit: usize, reason: &'static str) {
        self.pending = None;
        self.last_held = None;
        self.limit = self.config.clamp(limit);
        self.reason = reason;
        self.restart();
    }

    /// Starts a new window with the next call dispatched: the calls in flight were
    /// dispatched under other conditions.
    fn restart(&mut self) {
        self.window = Window::starting(self.granted, self.now);
        self.next = self.window;
    }

    /// The base probe step at the current limit.
    fn step(&self) -> usize {
        self.step_at(self.limit)
    }

    /// Goes back to `base` after a trial that did not pay; probes become rarer.
    fn back(&mut self, base: usize, reason: &'static str) {
        self.cold = false;
        self.trial = None;
        self.held = 0;
        self.hold = (self.hold * 2).min(self.tuning.max_hold.max(1));
        self.set(base, reason);
    }

    /// Keeps the trial's limit, measured as `m`; `then` is the next trial, if any.
    fn keep(&mut self, m: Measure, then: Option<Trial>, reason: &'static str) {
        self.reference = Some(m);
        self.hold = self.tuning.hold.max(1);
        self.held = 0;
        self.trial = None;
        self.reason = reason;
        self.restart();
        if let Some(next) = then {
            self.start(next, m);
        }
    }

    fn start(&mut self, trial: Trial, before: Measure) {
        let target = match trial {
            Trial::Probe {
                base,
                step,
                up: true,
            } => base + step,
            Trial::Probe {
                base,
                step,
                up: false,
            } => base.saturating_sub(step),
            Trial::Descent { base, .. } => base,
        };
        let target = self.config.clamp(target);
        if target == self.limit {
            // At a bound: nothing to try.
            self.held = 0;
            return;
        }
        self.trial = Some((trial, before));
        self.set(
            target,
            if target > self.limit {
                "probe up"
            } else {
                "probe down"
            },
        );
    }

    /// A step's relative size, against the downstream's concurrency: this replica's limit
    /// plus, in a fleet, the other replicas' permits (`fleet_free`). Past the knee calls slow
    /// in proportion to the calls in flight at the downstream, every replica's.
    fn relative(&self, step: usize, base: usize) -> f64 {
        let others = if self.tuning.fleet_free {
            self.fleet.others_permits
        } else {
            0
        };
        step as f64 / (base + others) as f64
    }

    fn on_window(&mut self, m: Measure, binding: bool) {
        let Some((trial, before)) = self.trial else {
            self.on_held(m, binding);
            return;
        };
        // A window that did not use the limit says nothing about a probe; a descent is judged
        // anyway (`watch`): its merged batches often leave the lower limit unfilled at first.
        let judged = binding || (self.tuning.watch && matches!(trial, Trial::Descent { .. }));
        if !judged {
            let base = match trial {
                Trial::Probe { base, .. } | Trial::Descent { base, .. } => base,
            };
            self.trial = None;
            self.held = 0;
            self.cold = false;
            self.set(base, "limit not in use: back");
            return;
        }
        let gain = gain(before.goodput, m.goodput);
        let threshold = self.threshold();
        let by_group = self.tuning.by_group;
        // How much slower the window's calls were than those of the window before the change.
        let slower = m.slowdown(&before, by_group);
        match trial {
            Trial::Probe {
                base,
                step,
                up: true,
            } => {
                // More concurrency for free: no goodput lost and calls no slower, so the
                // downstream is below its knee (past it, every call slows down).
                let rel = self.relative(step, base);
                let calm = slower < 1.0 + rel / 2.0;
                let free = self.tuning.free && gain > -threshold && calm;
                // A slow start: before any probe went back, the goodput's noise is unmeasured
                // (a reference of one or two windows), so calls no slower are enough.
                let start = self.tuning.slow_start && self.cold && calm;
                if gain > threshold || free || start {
                    let next = self.tuning.climb.then_some(Trial::Probe {
                        base: self.limit,
                        step: (step * 2).min(self.limit),
                        up: true,
                    });
                    self.keep(m, next, "probe up paid: climbing");
                } else if step > self.step_at(base) {
                    self.trial = None;
                    self.cold = false;
                    self.set(base, "bisecting");
                    self.start(
                        Trial::Probe {
                            base,
                            step: step / 2,
                            up: true,
                        },
                        before,
                    );
                } else {
                    self.back(base, "probe up did not pay");
                }
            }
            Trial::Probe {
                base,
                step,
                up: false,
            } => {
                let rel = self.relative(step, base);
                let free = self.tuning.free && gain > -threshold && slower < 1.0 - rel / 2.0;
                if gain > threshold || free {
                    let next = self.tuning.climb.then_some(Trial::Probe {
                        base: self.limit,
                        step: (step * 2).min(self.limit / 2).max(1),
                        up: false,
                    });
                    self.keep(m, next, "probe down paid: descending");
                } else {
                    self.back(base, "probe down did not pay");
                }
            }
            Trial::Descent { base, calm } => {
                // Nothing lost with less concurrency: the slowdown was load, the downstream
                // lost capacity. The descent may have gone too far (an overloaded
                // downstream also thrashes), so a probe up follows.
                // Calls as fast as before the alarm (nearer its latency than the alarm's, in
                // ratio): the lower limit removed the slowdown, so it was load, whatever the
                // window's goodput (its calls may still release the keys of the backlog).
                let since_calm = m.slowdown(&calm, by_group);
                let relieved =
                    self.tuning.relief && since_calm < before.slowdown(&calm, by_group).sqrt();
                if gain > -threshold || relieved {
                    if since_calm > self.tuning.alarm {
                        // Still slow: descend again from here.
                        self.keep(m, None, "descent kept, still slow: descending");
                        self.descend(calm, m);
                        return;
                    }
                    let next = Trial::Probe {
                        base: self.limit,
                        step: self.step(),
                        up: true,
                    };
                    self.keep(m, Some(next), "descent kept: the downstream lost capacity");
                } else {
                    // A uniformly slower downstream: same capacity, new latency.
                    self.trial = None;
                    // The reference becomes the alarm's window: the slower downstream at the
                    // base limit. Re-learnt from the next window instead, it would take in an
                    // overload that the descent did not cure (the calls it let in still
                    // draining), and no alarm could fire against it.
                    self.reference = Some(before);
                    self.held = 0;
                    self.set(base, "latency shift: back, reference re-learnt");
                }
            }
        }
    }

    /// Starts a descent when `m`'s latency per good load is `alarm` times the reference's
    /// (a moderate slowdown, under `alarm²`, only when the window before was over the alarm
    /// too: `Tuning::confirm`; the descent then starts from the slower of the two). Whether
    /// the alarm took the window: a descent started, or a moderate alarm waits for the next
    /// window (this one is neither learnt nor judged).
    fn alarm(&mut self, m: Measure) -> bool {
        let pending = self.pending.take();
        let alarm = self.tuning.alarm;
        let Some(reference) = self.reference.filter(|_| alarm > 0.0) else {
            return false;
        };
        let per_good = |m: &Measure| {
            let slowdown = m.slowdown(&reference, self.tuning.by_group);
            if self.tuning.alarm_errors {
                // Per good load: the time spent over the share of loads answered.
                slowdown * reference.good.max(1e-6) / m.good.max(1e-6)
            } else {
                slowdown
            }
        };
        let slower = per_good(&m);
        if slower <= alarm {
            return false;
        }
        let m = match pending {
            // Confirmed: the descent starts from the slower of the two windows (a window
            // that straddles the change, or a lull of a closed loop, understates it).
            Some(first) if per_good(&first) > slower => first,
            Some(_) => m,
            None if self.tuning.confirm && slower < alarm * alarm => {
                self.pending = Some(m);
                return true;
            }
            None => m,
        };
        self.descend(reference, m);
        true
    }

    /// Starts a descent towards `limit / slowdown^descent`, the slowdown of `m` against
    /// `calm`, at least one step.
    fn descend(&mut self, calm: Measure, m: Measure) {
        self.cold = false;
        let slowdown = m.slowdown(&calm, self.tuning.by_group).max(1e-12);
        // At 0.5, exactly the square root (the law's constant before it was one).
        let by = if self.tuning.descent == 0.5 {
            slowdown.sqrt()
        } else {
            slowdown.powf(self.tuning.descent)
        };
        let target = (self.limit as f64 / by).floor() as usize;
        let target = self
            .config
            .clamp(target.min(self.limit.saturating_sub(self.step())));
        if target == self.limit {
            return;
        }
        self.trial = Some((
            Trial::Descent {
                base: self.limit,
                calm,
            },
            m,
        ));
        self.set(target, "latency alarm: descent");
    }

    /// The base probe step at `limit`: `step × limit`, at least 1.
    fn step_at(&self, limit: usize) -> usize {
        ((limit as f64 * self.tuning.step).round() as usize).max(1)
    }

    fn on_held(&mut self, m: Measure, binding: bool) {
        if !binding {
            self.idle = true;
            if self.tuning.watch {
                self.alarm(m);
            }
            return;
        }
        if std::mem::take(&mut self.idle) {
            // Demand came back: conditions may have changed, so probe soon, from a fresh
            // reference. A capacity that fell meanwhile looks the same (the limit fills
            // either way), so the alarm first compares the window with the old reference:
            // re-learnt at once, the reference would be the overloaded window itself.
            if self.tuning.return_alarm && self.alarm(m) {
                // A moderate alarm waits: the next window is compared with the old
                // reference too.
                self.idle = self.trial.is_none();
                return;
            }
            self.hold = self.tuning.hold.max(1);
            self.held = 0;
            self.reference = None;
        }
        let Some(reference) = self.reference else {
            self.reference = Some(m);
            return;
        };
        if self.alarm(m) {
            return;
        }
        let a = self.tuning.smoothing;
        // The noise of one window: against the previous held window (the difference of two
        // windows has √2 times one window's spread), else against the reference.
        let deviation = match self.last_held.filter(|_| self.tuning.diff_noise) {
            Some(last) => {
                (m.goodput / last.goodput.max(1e-9) - 1.0).abs() / std::f64::consts::SQRT_2
            }
            None => (m.goodput / reference.goodput.max(1e-9) - 1.0).abs(),
        };
        self.last_held = Some(m);
        self.noise = (1.0 - a) * self.noise + a * deviation;
        self.reference = Some(reference.blend(&m, a));
        self.held += 1;
        if self.held >= self.hold {
            self.held = 0;
            let up = self.next_up;
            self.next_up = !up;
            let before = self.reference.expect("set above");
            self.start(
                Trial::Probe {
                    base: self.limit,
                    step: self.step(),
                    up,
                },
                before,
            );
        }
    }
}

impl ScalingStrategy for Adaptive {
    fn name(&self) -> &'static str {
        "adaptive"
    }

    fn limit(&self) -> usize {
        self.limit
    }

    fn on_sample(&mut self, sample: &Sample) -> usize {
        self.granted = self.granted.max(sample.granted);
        self.now = sample.now.as_secs_f64();
        // Calls dispatched under another limit describe that one.
        if sample.limit != self.limit {
            return self.limit;
        }
        if sample.seq < self.window.from {
            // Dispatched before the window: under other conditions, or in a window measured.
            return self.limit;
        }
        match self.window.to {
            Some(to) if sample.seq >= to => self.next.add(sample),
            _ => self.window.add(sample),
        }
        if self.window.to.is_none()
            && self
                .window
                .long_enough(self.granted, self.now, &self.tuning)
        {
            self.window.to = Some(self.granted);
            self.next = Window::starting(self.granted, self.now);
        }
        if let Some(to) = self.window.to
            && sample.done_below >= to
        {
            let measured = self.window.measure();
            let binding = self.window.binding();
            self.window = std::mem::take(&mut self.next);
            if let Some(m) = measured {
                self.on_window(m, binding);
            }
        }
        self.limit
    }

    fn reason(&self) -> &str {
        self.reason
    }

    fn warm_start(&mut self, limit: usize) {
        *self = Self {
            limit: self.config.clamp(limit),
            reason: "restored from learned state",
            fleet: self.fleet,
            warm: true,
            cold: false,
            ..Self::with_tuning(self.config, self.tuning)
        };
    }

    fn set_fleet(&mut self, view: FleetView) {
        // A cold replica that first hears of others takes its share of the initial limit:
        // the fleet starts where one engine would, in total.
        if view.in_fleet() && !self.fleet.in_fleet() && !self.warm && self.reference.is_none() {
            let share = self.config.initial_concurrency / (view.replicas + 1);
            self.set(
                share.max(1),
                "joined a fleet: its share of the initial limit",
            );
        }
        self.fleet = view;
    }
}

/// The relative gain from goodput `before` to `after`; none when neither served anything.
fn gain(before: f64, after: f64) -> f64 {
    if before <= 0.0 {
        if after > 0.0 { f64::INFINITY } else { 0.0 }
    } else {
        after / before - 1.0
    }
}

#[cfg(test)]
mod tests;
