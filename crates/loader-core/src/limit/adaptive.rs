//! Adaptive: this project's default controller, which finds by experiment the concurrency at
//! which the downstream delivers the most goodput. The algorithm is documented on [`Adaptive`].

mod evidence;
mod objective;
mod window;

use std::time::Duration;

use self::evidence::Evidence;
use self::objective::Goodput;
use self::window::{Window, WindowPolicy, WindowStats};
use super::{FleetView, Outcome, Sample, ScalingStrategy, StrategyConfig};

/// The default strategy: goodput probing with a latency early warning, errors and local load.
///
/// # The idea
///
/// A database's goodput (keys answered per second) rises with concurrency until the database is
/// saturated, then stays flat or falls (it thrashes). Latency alone cannot tell where that point
/// is: a backend may be uniformly slower (colder cache, bigger rows) with the same capacity.
/// By Little's law, `goodput ≈ in_flight × keys_per_call / rtt`, so the question "does more
/// concurrency pay?" is answered by *measuring goodput at two limits*, and latency serves only
/// as the early warning that something changed.
///
/// When the engine's callers admit requests ([`Engine::admit_request`], as the server does),
/// goodput is **requests served per second** instead: the rate at which admitted requests
/// ended over the window (`Sample::requests_ended`), whenever both windows of a comparison
/// saw at least 16 end. Keys per second stand for it only while every request costs the
/// same keys, and under more concurrency smaller batches load shared keys twice (measured:
/// 36 keys per request at one permit per replica, 52 at eight), so keys favour concurrency
/// (`adaptive/objective.rs`). A window then also runs until the request rate is known to its
/// target precision.
///
/// [`Engine::admit_request`]: crate::Engine::admit_request
///
/// The controller works in measurement windows: after every change it waits until a call
/// dispatched under the new limit completes, then collects the samples of calls dispatched
/// under the new limit (older calls describe the old one) until the goodput is known precisely
/// enough: at least 16 samples and two RTTs, until the relative standard error is under 5%
/// (2% for the small probes). Goodput is measured per call with Little's law,
/// `mean(in_flight) × Σ good keys / Σ rtt`, so it needs no clean time boundary. Each window
/// ends in one decision, in this order:
///
/// 1. **Errors** (EWMA over ~64 samples) above `error_rate_threshold` (default 5%), with an
///    error in the window: limit × 0.7, remembering the limit to return to. It steps down again
///    (after 256 more samples) only if the error rate fell by 15% and by more than two standard
///    errors of the difference: errors that do not ease with less load (a failing replica, bad
///    data, random failures) are no reason to starve the downstream.
///    Growth resumes only once errors are under half the threshold (hysteresis), and then
///    doubles back towards the remembered limit each window: it recovers in a few windows,
///    well under the 3 s target, instead of re-learning from the minimum. Errors that come back
///    on the way up or within 5 s lower the remembered limit (× 0.7): they come with the load.
/// 2. **Local load** above `backpressure_threshold`: limit × 0.9 per window, down to half the
///    limit held before ([`Adaptive::LOAD_FLOOR`]: the process's own CPU is relieved by
///    admission, not by starving the downstream). At the floor, while local load stays at or
///    above `target_utilization`, the limit moves only by the goodput experiments below, and
///    a step is kept only if it clearly pays (no "free" growth, no acceleration): on a host
///    whose CPU the downstream shares, whether more calls serve more is measured, not
///    assumed. Without that a busy host pinned every replica at half its limit. Once local
///    load is under `target_utilization` again (the gap is the hysteresis), the limit climbs
///    back to where it was and normal growth resumes. A load that comes back on the way up
///    or within [`Adaptive::RELAPSE_TIME`] comes with that limit: the next backoff returns
///    nowhere (only experiments move the limit from the floor), so a limit the process cannot
///    sustain is not retried in a cycle. A step up after which the load exceeds
///    `backpressure_threshold` is reverted like a probe that did not pay. Between the two
///    thresholds the limit does not grow by itself; a local-load backoff that finds the load
///    back between them stops there and hands over to the experiments, as at the floor.
/// 3. **Experiments.** Each change of the limit is an experiment compared with the goodput
///    before it ("from"), with a threshold `gain > 2 × combined standard error + 1%`:
///    - *slow start* (× 1.5 per window) at start-up and when demand appears; after a successful
///      probe whose gain was at least [`Adaptive::RISING`] (35%) of the relative increase of
///      the limit ("throughput still rising"), also when that gain is within the noise but
///      cost no latency, the step doubles each window (+1, +2, +4, ..., at most × 1.5, or
///      × 1.25 when climbing from a known plateau: a capacity that grew). A step whose
///      goodput is within the noise and whose calls got no slower is kept and held (the
///      capacity is not reached: demand bounds the gain). When a step loses goodput, it is
///      bisected once, then the controller holds the best limit.
///    - *additive probes* (± max(1, 8% of the limit)) near the plateau: kept only if goodput
///      improved, or, for a step up, if goodput did not fall and calls got no slower (more
///      concurrency for free: below the knee), or, for a step down, if goodput held and calls
///      got faster (less concurrency for free: above the knee); otherwise reverted. Up and
///      down probes alternate, so a limit left slightly too high or too low is corrected.
///      A probe down that gained within the noise is followed by a step to half the limit
///      ([`Adaptive::HALVING`], once per limit), judged the same way: on a downstream bound
///      by its own CPU, goodput falls slowly with the limit over a wide range (fewer, larger
///      batches cost less per key) and steeply only near its few cores, so one step at a
///      time cannot see the slope that halving measures.
///    - *in a fleet* (replicas sharing the downstream, [`ScalingStrategy::set_fleet`]) each
///      measurement records the other replicas' permits; a step is judged by the fleet's
///      goodput (its own ratio divided by its share change between the two windows), and a
///      step up during which the others moved by more than [`Adaptive::FLEET_DRIFT`] is
///      reverted: its gain was theirs as much as its own. A step in a fleet is kept only if
///      it pays, up or down: no free growth (one replica's permit moves the shared
///      downstream's latency by less than the noise, so "no slower" is no evidence). A cold
///      replica that learns of its fleet takes its share of the initial limit first
///      ([`Adaptive::join_fleet`]): the fleet climbs from below, where steps pay clearly.
///    - *descent* when, while holding, calls became clearly slower (mean RTT > 1.4 × the
///      reference at the same limit: the "latency gradient") and goodput fell: limit × 0.8,
///      then `limit / gradient` (at least × 0.6) or − step while each step still improves
///      goodput. If the first step down
///      does not improve goodput, the slowdown was a pure latency shift: the limit goes back
///      and the reference is re-baselined to the new latency (the limit does not collapse).
/// 4. **Hold** otherwise: the limit stays; the reference goodput and RTT are EWMAs (α = 0.2)
///    of the held windows; the next probe comes after a cooldown.
///
/// # Why it does not oscillate
///
/// - *Smoothing*: decisions use window means over enough samples for a relative standard error
///   of 2–5%, and the hold reference is an EWMA over several windows, so a single slow call or
///   a jittery window does not move the limit.
/// - *Hysteresis*: a change is kept only if it beats the other limit by more than the noise
///   (the threshold above); a flat result keeps the *previous* limit. Errors must fall under
///   half the threshold before growth resumes; local load must fall under
///   `target_utilization`, below `backpressure_threshold`.
/// - *Cooldown*: after every change the controller waits for the new limit to be in effect
///   (a sample dispatched under it) before measuring, and after settling on a limit it holds
///   it for [`Adaptive::HOLD_WINDOWS`] windows and at least [`Adaptive::HOLD_TIME`] before
///   probing again. Probes last one window and are reverted unless they paid.
///
/// # Light load
///
/// Windows in which the limit was not in use (in flight well under the limit and nothing
/// queued) decide nothing: the limit neither grows towards `max_concurrency` (more permits
/// would not be used) nor shrinks (a quiet minute is not evidence of a smaller capacity).
/// When demand comes back, the controller starts a slow start from where it is.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use loader_core::limit::{Adaptive, Outcome, Sample, ScalingStrategy, StrategyConfig};
///
/// let config = StrategyConfig { initial_concurrency: 16, ..StrategyConfig::default() };
/// let mut adaptive = Adaptive::new(config);
/// assert_eq!(adaptive.name(), "adaptive");
///
/// // A saturated downstream where one call in four fails: the limit backs off.
/// for i in 1..=400u64 {
///     let limit = adaptive.limit();
///     adaptive.on_sample(&Sample {
///         now: Duration::from_micros(i * 500),
///         rtt: Duration::from_millis(5),
///         batch_size: 10,
///         in_flight: limit,
///         limit,
///         queued: 20,
///         local_load: 0.2,
///         outcome: if i % 4 == 0 { Outcome::Error } else { Outcome::Success },
///         requests_ended: 0,
///     });
/// }
/// assert!(adaptive.limit() < 16);
/// assert!(adaptive.reason().starts_with("error rate"));
/// ```
#[derive(Debug, Clone)]
pub struct Adaptive {
    config: StrategyConfig,
    /// The controller's limit, continuous so that multiplicative steps compose.
    limit: f64,
    phase: Phase,
    window: Window,
    /// Whether a sample dispatched under the current limit has completed since the last change.
    settled: bool,
    /// Whether samples were seen carrying the current limit (see `on_sample`).
    limit_field_trusted: bool,
    samples_since_change: u32,
    /// EWMA of all RTTs (seconds): sizes the windows.
    rtt_ewma: f64,
    /// EWMA of failures (errors and timeouts) over ~64 samples: a short window's error rate is
    /// too coarse (one error in 16 samples is 6%).
    error_rate: f64,
    /// Goodput and RTT measured at the held limit.
    reference: Option<Measure>,
    /// The limit to return to after an error or local-load backoff.
    resume: Option<f64>,
    /// The error rate that caused the last error backoff, and what was seen since.
    error_step: Option<ErrorStep>,
    /// Whether the limit is climbing back after a backoff, and when it got back: errors
    /// returning then mean the remembered limit itself causes them.
    ramping: bool,
    recovered_at: Option<Duration>,
    /// Windows left, and the time, before the next probe.
    hold_windows: u32,
    hold_until: Duration,
    /// Direction of the next probe from a hold.
    next_probe_up: bool,
    /// Whether a plateau was found since start-up or since demand returned; until then probes are
    /// multiplicative (slow start).
    plateau_known: bool,
    /// Permits held by the other replicas of a fleet on the same downstream ([`set_fleet`]).
    ///
    /// [`set_fleet`]: ScalingStrategy::set_fleet
    fleet_others: f64,
    /// How many other replicas hold [`Self::fleet_others`].
    fleet_replicas: f64,
    /// When this replica may start experiments in its fleet ([`Adaptive::FLEET_SLOT`]).
    fleet: FleetView,
    /// A probe is due but waits for this replica's turn; whether it may go up.
    awaiting_turn: Option<bool>,
    /// Repeated additive probes of one step up, and of one step down, combined.
    evidence_up: Evidence,
    evidence_down: Evidence,
    /// Since when fewer than half the limit have been in flight (consecutive windows).
    idle_since: Option<Duration>,
    /// Whether the local-load backoff reached its floor and local load has not fallen under
    /// `target_utilization` since: the limit is then moved by goodput experiments alone.
    under_load: bool,
    /// The floor of the last local-load backoff (see [`Adaptive::LOAD_FLOOR`]); 0 before any.
    load_floor: f64,
    /// Whether the last backoff was for local load (not errors).
    load_backoff: bool,
    /// The limit a halving step last started from (see [`Adaptive::HALVING`]): one that did
    /// not pay is not tried again from the same limit.
    halved_from: Option<f64>,
    /// Whether this replica has learned that it shares the downstream (see
    /// [`Adaptive::join_fleet`]).
    fleet_joined: bool,
    reason: String,
}

/// An error backoff: the error rate that caused it, and the samples under the lower limit.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ErrorStep {
    /// The error rate that caused the step, and how many samples measured it.
    rate: f64,
    measured_over: u32,
    failures: u32,
    samples: u32,
}

impl ErrorStep {
    /// Whether the errors under the lower limit fell clearly below the rate that caused the
    /// step: by at least [`Adaptive::ERROR_EASING`] and by more than [`Adaptive::Z`] standard
    /// errors of the difference of the two proportions. Random errors that do not depend on
    /// the load (a 20% failure rate at any concurrency) differ between two samples by chance;
    /// without the second condition a short window that happened to catch many of them
    /// would justify a further step.
    fn eased(&self) -> bool {
        let now = f64::from(self.failures) / f64::from(self.samples.max(1));
        let variance = |p: f64, n: u32| p * (1.0 - p) / f64::from(n.max(1));
        let se = (variance(self.rate, self.measured_over) + variance(now, self.samples)).sqrt();
        now < self.rate * Adaptive::ERROR_EASING && self.rate - now > Adaptive::Z * se
    }
}

/// Goodput and latency at one limit, and the permits the rest of the fleet held then.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Measure {
    limit: f64,
    goodput: Goodput,
    rtt: f64,
    rtt_se: f64,
    others: f64,
}

impl Measure {
    fn of(limit: f64, stats: &WindowStats, others: f64) -> Self {
        Self {
            limit,
            goodput: Goodput::of(stats),
            rtt: stats.rtt,
            rtt_se: stats.rtt_se,
            others,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Up,
    Down,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Slow start / fast descent.
    Multiplicative,
    /// The multiplicative step overshot: try half of it once.
    Bisect,
    /// Small steps near the plateau.
    Additive,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// Keeping the limit, refining the reference.
    Hold,
    /// The limit moved from `from`; the next window says whether it paid.
    Step {
        from: Measure,
        direction: Direction,
        mode: Mode,
        /// Whether `from` is itself a step down that paid. A descent that overshoots after
        /// such a step is bisected; a *first* step down that does not pay means the slowdown
        /// was a latency shift, not queueing.
        descending: bool,
    },
    /// Calls got slower at the held limit: one more window at the same limit, measured
    /// entirely after the change, before deciding.
    Confirm,
    /// Backed off because of errors or local load.
    Backoff,
}

impl Adaptive {
    /// Slow-start factor: the limit grows × 1.5 per window while goodput keeps rising.
    pub const GROWTH_FACTOR: f64 = 1.5;
    /// See [`Self::growth_factor`].
    pub const PLATEAU_GROWTH_FACTOR: f64 = 1.25;
    /// First step of a descent: × 0.8, whatever the gradient. The first step is the test
    /// that tells a capacity loss (goodput rises with less concurrency) from a pure latency
    /// shift (it falls, and the limit goes back): a latency shift costs one window at −20%.
    pub const DESCENT_FACTOR: f64 = 0.8;
    /// Later descent steps, while calls are still more than [`Self::STEP_GRADIENT`] times
    /// slower than the healthy reference, go to `limit / gradient`, but not below × 0.6.
    pub const FAST_DESCENT_FACTOR: f64 = 0.6;
    /// See [`Self::FAST_DESCENT_FACTOR`].
    pub const STEP_GRADIENT: f64 = 1.2;
    /// A step up whose goodput did not fall is kept if calls got at most this much slower
    /// (or the noise, if larger).
    pub const FREE_RTT: f64 = 0.02;
    /// A step down whose goodput held is kept if calls got at least this much faster.
    pub const FASTER: f64 = 0.05;
    /// Additive probe: this fraction of the limit, at least 1.
    pub const PROBE_FRACTION: f64 = 0.08;
    /// The error rate is an EWMA over about this many samples.
    pub const ERROR_SAMPLES: f64 = 64.0;
    /// Errors returning within this time after a recovery lower the limit to return to.
    pub const RELAPSE_TIME: Duration = Duration::from_secs(5);
    /// A further error backoff waits for this many samples under the lower limit...
    pub const ERROR_STEP_SAMPLES: u32 = 256;
    /// ...and needs their error rate under this fraction of the rate before.
    pub const ERROR_EASING: f64 = 0.85;
    /// Backoff on errors above the threshold: × 0.7 per step.
    pub const ERROR_BACKOFF: f64 = 0.7;
    /// Backoff on local load above `backpressure_threshold`: × 0.9 per window.
    pub const LOAD_BACKOFF: f64 = 0.9;
    /// The local-load backoff stops at this fraction of the limit held before it. Local
    /// overload is this process's CPU, not the downstream: fewer concurrent calls free little
    /// of it (each request's GraphQL work stays), while admission, which refuses new requests
    /// once the queue's expected wait grows, frees it all. Without a floor a saturated host
    /// (server, database and load generator on two cores) walked the database's limit down
    /// to 1 and the queue then shed nearly every request.
    pub const LOAD_FLOOR: f64 = 0.5;
    /// Mean RTT above this multiple of the reference at the same limit starts a descent
    /// (if goodput fell too).
    pub const LATENCY_TOLERANCE: f64 = 1.4;
    /// Significance of a goodput difference: this many combined standard errors...
    pub const Z: f64 = 2.0;
    /// ...plus this relative margin.
    pub const MIN_GAIN: f64 = 0.01;
    /// Cooldown after settling on a limit: this many windows...
    pub const HOLD_WINDOWS: u32 = 4;
    /// ...and at least this long.
    pub const HOLD_TIME: Duration = Duration::from_millis(400);
    /// Demand returning after fewer than half the limit were in flight for this long restarts
    /// a slow start.
    pub const QUIET_PERIOD: Duration = Duration::from_secs(1);
    /// A step up "still rises" (the climb accelerates) when goodput grew by at least this
    /// fraction of the limit's relative increase. Below the knee, goodput grows less than
    /// proportionally in a closed loop (more permits mean smaller batches), so a half was too
    /// strict and stopped climbs early.
    pub const RISING: f64 = 0.35;
    /// Weight of a new window in the hold reference.
    pub const REFERENCE_ALPHA: f64 = 0.2;
    /// A probe down that gained within the noise is followed by a step to this fraction of
    /// the limit it started from...
    pub const HALVING: f64 = 0.5;
    /// ...when that limit is at least this.
    pub const HALVING_FROM: f64 = 4.0;
    /// In a fleet, a step up is judged only if the other replicas' permits moved by at most
    /// this fraction of them while it was measured (with fewer than ten, any change counts).
    pub const FLEET_DRIFT: f64 = 0.1;
    /// In a fleet with turns ([`FleetView::clock`]), each replica's slot of the fleet's clock: long
    /// enough for one additive step to be measured (a precise window lasts at most 1.5 s).
    pub const FLEET_SLOT: Duration = Duration::from_millis(2500);
    /// A probe starts only this early in the replica's slot, so that its window ends before
    /// the next replica's slot begins.
    pub const FLEET_SLOT_START: Duration = Duration::from_millis(800);

    /// Starts at `config.initial_concurrency`, in slow start.
    pub fn new(config: StrategyConfig) -> Self {
        Self {
            config,
            limit: config.clamp(config.initial_concurrency) as f64,
            phase: Phase::Hold,
            window: Window::default(),
            settled: true,
            limit_field_trusted: false,
            samples_since_change: 0,
            rtt_ewma: 0.0,
            error_rate: 0.0,
            reference: None,
            resume: None,
            error_step: None,
            ramping: false,
            recovered_at: None,
            hold_windows: 1,
            hold_until: Duration::ZERO,
            next_probe_up: true,
            plateau_known: false,
            fleet_others: 0.0,
            fleet_replicas: 0.0,
            fleet: FleetView::default(),
            awaiting_turn: None,
            evidence_up: Evidence::default(),
            evidence_down: Evidence::default(),
            idle_since: None,
            under_load: false,
            load_floor: 0.0,
            load_backoff: false,
            halved_from: None,
            fleet_joined: false,
            reason: "initial limit".to_string(),
        }
    }

    fn min(&self) -> f64 {
        self.config.min_concurrency.max(1) as f64
    }

    fn max(&self) -> f64 {
        self.config.max_concurrency.max(1) as f64
    }

    fn bounded(&self, limit: f64) -> f64 {
        limit.clamp(self.min(), self.max().max(self.min()))
    }

    /// The largest multiplicative step up: × 1.5 in slow start, × 1.25 for a climb from a
    /// known plateau (the capacity grew), where an overshoot past the new capacity costs
    /// more than a window or two more of climbing.
    fn growth_factor(&self) -> f64 {
        if self.plateau_known {
            Self::PLATEAU_GROWTH_FACTOR
        } else {
            Self::GROWTH_FACTOR
        }
    }

    fn probe_step(&self) -> f64 {
        (self.limit * Self::PROBE_FRACTION).round().max(1.0)
    }

    /// Short windows: for slow start, descents, backoffs and watching a held limit.
    fn fast_policy(&self) -> WindowPolicy {
        WindowPolicy {
            min_samples: 16,
            min_duration: Duration::from_secs_f64((2.0 * self.rtt_ewma).max(0.010)),
            target_se: 0.05,
            max_samples: 400,
            max_duration: Duration::from_secs(1),
        }
    }

    /// Long windows: additive probes, whose effect is a few percent.
    fn precise_policy(&self) -> WindowPolicy {
        WindowPolicy {
            min_samples: 32,
            min_duration: Duration::from_secs_f64((6.0 * self.rtt_ewma).max(0.020)),
            target_se: 0.02,
            max_samples: 1500,
            max_duration: Duration::from_millis(1500),
        }
    }

    fn policy(&self) -> WindowPolicy {
        match self.phase {
            Phase::Step {
                mode: Mode::Additive | Mode::Bisect,
                ..
            } => self.precise_policy(),
            _ => self.fast_policy(),
        }
    }

    /// The first time this replica learns that it is one of `size` replicas sharing the
    /// downstream, while it is still cold (no warm start, nothing learned by experiment
    /// yet), it takes its share of the initial limit: `initial_concurrency / size`, at least
    /// one. The downstream's capacity does not grow with the replicas in front of it, so a
    /// fleet of cold replicas starts where one engine would, in total.
    ///
    /// It matters because of where the signal is. Below the database's best total each
    /// permit adds clearly (one to two per replica served 12–24% more on the capped
    /// database); above it, throughput falls slowly, and one replica's one-permit step
    /// there is worth a few percent of the fleet's throughput, far inside the noise of a
    /// window. A fleet that starts above the best total (three replicas at 4 where 3–6 was
    /// best) took 90–110 s to walk down; from below, it climbs by steps that clearly pay.
    fn join_fleet(&mut self, size: usize) {
        if std::mem::replace(&mut self.fleet_joined, true) || self.plateau_known {
            return;
        }
        let share = self.bounded((self.config.initial_concurrency as f64 / size as f64).round());
        if share.round() < self.limit.round() {
            self.phase = Phase::Hold;
            self.reference = None;
            self.hold_windows = Self::HOLD_WINDOWS;
            let reason = format!(
                "one of {size} replicas: its share of the initial limit, {}",
                share.round()
            );
            self.set_limit(share, reason);
        }
    }

    /// Whether other replicas share the downstream ([`ScalingStrategy::set_fleet`]).
    fn in_fleet(&self) -> bool {
        self.fleet_replicas > 0.0
    }

    /// The fleet's goodput change that this replica's own goodput ratio `local` (from
    /// `from`, measured while the other replicas held `from.others` permits, to `tried`,
    /// while they hold [`Self::fleet_others`]) stands for: on a saturated shared downstream
    /// each replica's share is its share of the permits, so a replica that takes one more
    /// permit gains goodput that the others lose, and one whose neighbours step down gains
    /// what they give up. Dividing by the share change leaves the fleet's change. Alone (no
    /// others) the ratio is unchanged.
    fn fleet_ratio(&self, local: f64, from: &Measure, tried: f64) -> f64 {
        let share = |limit: f64, others: f64| limit / (limit + others);
        if from.limit <= 0.0 || tried <= 0.0 {
            return local;
        }
        local * share(from.limit, from.others) / share(tried, self.fleet_others)
    }

    /// The relative step of the fleet's concurrency from `from` to this replica at `tried`
    /// (its own relative step when alone).
    fn fleet_step(&self, from: &Measure, tried: f64) -> f64 {
        (self.fleet_others + tried) / (from.others + from.limit).max(1e-9) - 1.0
    }

    /// Whether the rest of the fleet moved by more than [`Self::FLEET_DRIFT`] of its permits
    /// since `from` was measured: a step of this replica's taken meanwhile measured the
    /// others' change as much as its own.
    fn fleet_moved(&self, from: &Measure) -> bool {
        (self.fleet_others - from.others).abs() > Self::FLEET_DRIFT * from.others.max(1.0)
    }

    /// The smallest relative goodput difference that is not noise.
    fn threshold(a: f64, b: f64) -> f64 {
        Self::Z * (a * a + b * b).sqrt() + Self::MIN_GAIN
    }

    /// Whether the goodput of window `w` fell clearly below the reference's.
    fn fell(w: &WindowStats, reference: &Measure) -> bool {
        let compared = Goodput::of(w).versus(&reference.goodput);
        compared.ratio < 1.0 - Self::threshold(compared.se, compared.base_se)
    }

    fn set_limit(&mut self, limit: f64, reason: String) {
        let limit = self.bounded(limit);
        if limit.round() as usize != self.limit() {
            self.settled = false;
            self.samples_since_change = 0;
            self.window.reset();
        }
        self.limit = limit;
        self.reason = reason;
    }

    /// Holds the limit just measured (`here`) as the new reference: a plateau is known.
    fn settle(&mut self, now: Duration, here: Measure, reason: String) {
        self.reason = reason;
        self.reference = Some(here);
        self.plateau_known = true;
        self.hold(now);
    }

    /// Keeps climbing from `here` (reached from `from_limit`): doubles the last step, but
    /// grows at most × [`Self::growth_factor`].
    fn accelerate(&mut self, here: Measure, from_limit: f64, reason: String) {
        let tried = here.limit;
        self.phase = Phase::Step {
            from: here,
            direction: Direction::Up,
            mode: Mode::Multiplicative,
            descending: false,
        };
        let step = (2.0 * (tried - from_limit))
            .min(tried * (self.growth_factor() - 1.0))
            .max(1.0);
        self.set_limit(tried + step, reason);
    }

    /// Back to the limit an experiment started from, which is held as a plateau.
    fn revert(&mut self, now: Duration, from: Measure, reason: String) {
        self.plateau_known = true;
        self.set_limit(from.limit, reason);
        self.reference = Some(from);
        self.hold(now);
    }

    fn hold(&mut self, now: Duration) {
        self.phase = Phase::Hold;
        self.hold_windows = Self::HOLD_WINDOWS;
        self.hold_until = now + Self::HOLD_TIME;
    }

    fn decide(&mut self, now: Duration, w: WindowStats) {
        // Set again below if the probe still waits for this replica's turn.
        self.awaiting_turn = None;
        let threshold = self.config.error_rate_threshold;
        let used = w.used >= 0.5;
        let error_rate = self.error_rate;

        // 1. Errors: back off while the error rate is above the threshold, and keep backing off
        //    only while that helps: each further step waits for ERROR_STEP_SAMPLES samples at
        //    the lower limit and needs the error rate to have fallen by 15%. Errors that do
        //    not respond to less load (a failing replica, bad data) are not a reason to starve
        //    the downstream further.
        if error_rate > threshold && w.error_rate > 0.0 {
            let relapse = self.ramping
                || self
                    .recovered_at
                    .is_some_and(|at| now.saturating_sub(at) < Self::RELAPSE_TIME);
            if relapse {
                // Errors came back on the way up, or soon after: they are tied to the load at
                // this limit, so do not return to it.
                self.resume = Some(self.limit * Self::ERROR_BACKOFF);
                self.error_step = None;
                self.ramping = false;
                self.recovered_at = None;
            } else if self.phase != Phase::Backoff {
                self.resume = Some(self.resume.unwrap_or(0.0).max(self.held_limit()));
                self.error_step = None;
            }
            self.phase = Phase::Backoff;
            self.load_backoff = false;
            let (step, measured, measured_over) = match self.error_step {
                None => (true, w.error_rate, w.samples),
                Some(step) if step.samples >= Self::ERROR_STEP_SAMPLES => (
                    step.eased(),
                    f64::from(step.failures) / f64::from(step.samples),
                    step.samples,
                ),
                Some(_) => return,
            };
            let reason = format!(
                "error rate {:.0}% > {:.0}%",
                error_rate * 100.0,
                threshold * 100.0
            );
            if step {
                self.error_step = Some(ErrorStep {
                    rate: measured,
                    measured_over,
                    failures: 0,
                    samples: 0,
                });
                let next = (self.limit * Self::ERROR_BACKOFF).min(self.limit - 1.0);
                self.set_limit(next, reason);
            } else {
                self.reason = format!("{reason}, not easing with less load: holding");
            }
            return;
        }
        // 2. Local overload: the process itself is the bottleneck. Back off to the floor,
        //    then let goodput decide from there (see `under_load`).
        if self.under_load && w.local_load < self.config.target_utilization {
            self.under_load = false;
            match self.phase {
                // Headroom again: climb back to the limit held before the backoff.
                Phase::Hold if self.resume.is_some_and(|r| self.limit + 0.5 < r) => {
                    self.phase = Phase::Backoff;
                }
                // An error backoff keeps its own limit to return to.
                Phase::Backoff => {}
                _ => self.resume = None,
            }
        }
        if w.local_load > self.config.backpressure_threshold && !self.under_load {
            let reason = format!(
                "local load {:.2} > {:.2}",
                w.local_load, self.config.backpressure_threshold
            );
            if let Phase::Step {
                from,
                direction: Direction::Up,
                ..
            } = self.phase
            {
                // A step up after which this process is overloaded did not pay: back to
                // where it came from (a plateau), instead of backing off from the step.
                self.revert(
                    now,
                    from,
                    format!(
                        "{reason} at {}: back to {}",
                        self.limit(),
                        from.limit.round()
                    ),
                );
                return;
            }
            if self.phase != Phase::Backoff || self.ramping {
                let relapse = self.ramping
                    || self
                        .recovered_at
                        .is_some_and(|at| now.saturating_sub(at) < Self::RELAPSE_TIME);
                if relapse && self.load_floor > 0.0 {
                    // The load came back on the way up, or soon after: it comes with the
                    // limit returned to. Back off again, and this time return nowhere: from
                    // the floor only experiments move the limit (no 2 -> 4 -> 2 cycle).
                    self.resume = None;
                    self.ramping = false;
                    self.recovered_at = None;
                    self.plateau_known = true;
                } else {
                    let held = self.resume.unwrap_or(0.0).max(self.held_limit());
                    self.resume = Some(held);
                    // Not below LOAD_FLOOR of the limit held before the backoff, nor below
                    // the last backoff's floor: a limit that goodput experiments kept at that
                    // floor is not halved again by every new episode of load (4 -> 2 -> 1).
                    self.load_floor = (held * Self::LOAD_FLOOR).max(self.load_floor.min(held));
                }
            }
            self.phase = Phase::Backoff;
            self.load_backoff = true;
            let floor = self.load_floor;
            let next = (self.limit * Self::LOAD_BACKOFF)
                .min(self.limit - 1.0)
                .max(floor);
            if next.round() >= self.limit.round() {
                let reason = format!("{reason}: at the floor, {}", self.limit());
                self.probe_under_load(now, reason);
            } else {
                self.set_limit(next, reason);
            }
            return;
        }
        // Under sustained local load only a step that clearly pays is kept (no free growth,
        // no acceleration): see `decide_step`.
        let may_grow =
            w.local_load < self.config.target_utilization && error_rate <= threshold / 2.0;
        let may_probe = may_grow || (self.under_load && error_rate <= threshold / 2.0);

        match self.phase {
            Phase::Backoff => {
                // Hysteresis: recover only once errors are well under the threshold and the
                // process has headroom again (or runs its goodput experiments under load).
                if !may_probe {
                    if self.load_backoff
                        && w.local_load >= self.config.target_utilization
                        && error_rate <= threshold / 2.0
                    {
                        // Under `backpressure_threshold` again, not under
                        // `target_utilization`: the backoff stops here.
                        let reason =
                            format!("local load {:.2}: holding {}", w.local_load, self.limit());
                        self.probe_under_load(now, reason);
                    }
                    return;
                }
                let resume = self.resume.unwrap_or(self.limit);
                if self.limit + 0.5 < resume {
                    let next = (self.limit * 2.0).min(resume);
                    self.ramping = true;
                    self.set_limit(next, format!("recovering towards {}", resume.round()));
                } else {
                    self.resume = None;
                    self.reference = None;
                    self.ramping = false;
                    self.recovered_at = Some(now);
                    self.hold(now);
                }
            }
            Phase::Hold => self.decide_hold(now, &w, used, may_probe),
            Phase::Confirm => self.decide_confirm(now, &w),
            Phase::Step {
                from,
                direction,
                mode,
                descending,
            } => self.decide_step(now, &w, used, may_grow, from, direction, mode, descending),
        }
    }

    /// Where a local-load backoff stops (at its floor, or once the load is back between the
    /// two thresholds). Whether more or fewer calls to the downstream pay while this process
    /// stays busy is a question for the goodput experiments: a host whose CPU the downstream
    /// shares may serve more with more calls, or fewer.
    fn probe_under_load(&mut self, now: Duration, reason: String) {
        self.under_load = true;
        self.reference = None;
        self.plateau_known = true;
        self.reason = format!("{reason}; probing by goodput");
        self.hold(now);
    }

    /// The limit last held (before an experiment): where to come back to after a backoff.
    fn held_limit(&self) -> f64 {
        match self.phase {
            Phase::Step { from, .. } => from.limit.max(self.limit.min(from.limit)),
            _ => self.limit,
        }
    }

    fn decide_hold(&mut self, now: Duration, w: &WindowStats, used: bool, may_grow: bool) {
        if !used {
            // Light load: no evidence about the downstream's capacity either way. Quiet (well
            // under the limit) for long enough, it will restart a slow start when demand returns.
            if w.in_flight < 0.5 * self.limit {
                self.idle_since.get_or_insert(now);
            } else {
                self.idle_since = None;
            }
            return;
        }
        if self
            .idle_since
            .take()
            .is_some_and(|since| now.saturating_sub(since) >= Self::QUIET_PERIOD)
        {
            // Demand came back after a quiet period: what we knew about goodput was measured
            // under a different load. Start over with a slow start from here. (Demand that
            // hovers around the limit, in use one window and not the next, is not a return.)
            self.reference = None;
            self.plateau_known = false;
            self.hold_windows = 0;
            self.hold_until = now;
        }
        let Some(mut reference) = self.reference else {
            self.reference = Some(Measure::of(self.limit, w, self.fleet_others));
            return;
        };

        // The latency gradient: calls at the same limit got clearly slower and goodput fell.
        // This window may straddle the change, so confirm on a clean one before acting.
        let gradient = w.rtt / reference.rtt.max(1e-9);
        let fell = Self::fell(w, &reference);
        if gradient > Self::LATENCY_TOLERANCE && fell && self.limit > self.min() {
            self.phase = Phase::Confirm;
            return;
        }

        if self.fleet_moved(&reference) {
            // The other replicas' permits changed: this replica's share of the downstream
            // did too, so the windows before are no reference for the ones to come.
            reference = Measure::of(self.limit, w, self.fleet_others);
        }
        // Smoothing: the reference is an EWMA of the held windows.
        let a = Self::REFERENCE_ALPHA;
        reference.goodput.smooth(&Goodput::of(w), a);
        reference.rtt += a * (w.rtt - reference.rtt);
        reference.rtt_se = ((1.0 - a) * (1.0 - a) * reference.rtt_se * reference.rtt_se
            + a * a * w.rtt_se * w.rtt_se)
            .sqrt();
        reference.limit = self.limit;
        self.reference = Some(reference);

        // Cooldown before the next probe.
        self.hold_windows = self.hold_windows.saturating_sub(1);
        if self.hold_windows > 0 || now < self.hold_until {
            return;
        }
        if !self.may_start_probe(now) {
            // Not this replica's turn: the probe starts with the first call of its slot.
            self.awaiting_turn = Some(may_grow);
            return;
        }
        self.start_probe(now, reference, may_grow);
    }

    /// Whether an experiment may start at `now`: always alone; in a fleet with turns only
    /// early in this replica's slot, while the other replicas hold still.
    fn may_start_probe(&self, now: Duration) -> bool {
        match self.fleet.slot_of(now, Self::FLEET_SLOT) {
            Some((owner, into)) if self.in_fleet() => {
                owner == self.fleet.rank && into <= Self::FLEET_SLOT_START
            }
            _ => true,
        }
    }

    /// Starts the next probe from the held `reference`: up or down by one step, or a slow
    /// start's multiplicative step.
    fn start_probe(&mut self, now: Duration, reference: Measure, may_grow: bool) {
        // Slow start is for a downstream of unknown capacity to itself. In a fleet the other
        // replicas' permits are on it already, and replicas starting together would all
        // multiply their limits at once and read each other's steps as their own gains:
        // they probe one step at a time from the start.
        let in_fleet = self.in_fleet();
        let slow_start = !self.plateau_known && !in_fleet;
        let mut up = self.next_probe_up || slow_start;
        if !slow_start && self.fleet_replicas > 0.0 {
            // In a fleet, explore towards the others' mean limit first: replicas with equal
            // demand then settle at similar limits instead of wherever their first
            // experiments left them (3/1/2 where 2/2/2 served 25% more). Only the direction
            // of the next probe: whether it is kept is still up to the fleet's goodput.
            let mean = self.fleet_others / self.fleet_replicas;
            if self.limit + 1.0 <= mean {
                up = true;
            } else if self.limit - 1.0 >= mean {
                up = false;
            }
        }
        self.next_probe_up = !up;
        if up {
            if !may_grow || self.limit >= self.max() {
                self.hold(now);
                return;
            }
            let (next, mode) = if !slow_start {
                (self.limit + self.probe_step(), Mode::Additive)
            } else {
                (
                    (self.limit * Self::GROWTH_FACTOR).max(self.limit + 1.0),
                    Mode::Multiplicative,
                )
            };
            self.phase = Phase::Step {
                from: reference,
                direction: Direction::Up,
                mode,
                descending: false,
            };
            let reason = if mode == Mode::Multiplicative {
                "slow start: probing for capacity".to_string()
            } else {
                format!("probing up from {}", self.limit())
            };
            self.set_limit(next, reason);
        } else {
            if self.limit <= self.min() {
                self.hold(now);
                return;
            }
            self.phase = Phase::Step {
                from: reference,
                direction: Direction::Down,
                mode: Mode::Additive,
                descending: false,
            };
            let reason = format!("probing down from {}", self.limit());
            self.set_limit(self.limit - self.probe_step(), reason);
        }
    }

    /// A clean window after calls got slower at the held limit. If they still are, and goodput
    /// fell, start a descent with a step of [`Self::DESCENT_FACTOR`]. The gradient does not
    /// size this first step: a pure latency shift of 3x has a gradient of 3 too, and the first
    /// step is what tells the two apart. Once a step down paid, the next ones are sized by the
    /// gradient (in `decide_step`): at `g` times the reference latency, the downstream serves
    /// about `limit / g` calls at full speed (Little's law).
    fn decide_confirm(&mut self, now: Duration, w: &WindowStats) {
        let Some(reference) = self.reference else {
            self.hold(now);
            return;
        };
        let gradient = w.rtt / reference.rtt.max(1e-9);
        let fell = Self::fell(w, &reference);
        if gradient > Self::LATENCY_TOLERANCE && fell && self.limit > self.min() {
            self.phase = Phase::Step {
                from: Measure::of(self.limit, w, self.fleet_others),
                direction: Direction::Down,
                mode: Mode::Multiplicative,
                descending: false,
            };
            let next = self.limit * Self::DESCENT_FACTOR;
            self.set_limit(
                next,
                format!(
                    "latency gradient {gradient:.1} > {:.1}",
                    Self::LATENCY_TOLERANCE
                ),
            );
        } else {
            // A passing slowdown: keep holding (the reference absorbs it through its EWMA).
            self.phase = Phase::Hold;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn decide_step(
        &mut self,
        now: Duration,
        w: &WindowStats,
        used: bool,
        may_grow: bool,
        from: Measure,
        direction: Direction,
        mode: Mode,
        descending: bool,
    ) {
        let tried = self.limit;
        // In a fleet, judged by what the step does to the fleet's goodput.
        let compared = Goodput::of(w).versus(&from.goodput);
        let gain = self.fleet_ratio(compared.ratio, &from, tried) - 1.0;
        let threshold = Self::threshold(compared.se, compared.base_se);
        let here = Measure::of(tried, w, self.fleet_others);
        // Additive steps are tried again and again from a held limit: their results add up
        // (see `Evidence`). Only trials that measured the limit in use, and in a fleet that
        // held still, count.
        let trial = |evidence: &mut Evidence| {
            evidence.add(
                from.limit,
                tried,
                gain,
                (compared.se * compared.se + compared.base_se * compared.base_se).sqrt(),
            )
        };
        let combined = match direction {
            _ if mode != Mode::Additive || !used => (0.0, 0),
            Direction::Up if self.fleet_moved(&from) => (0.0, 0),
            Direction::Up => trial(&mut self.evidence_up),
            Direction::Down => trial(&mut self.evidence_down),
        };
        // At least two trials, clearly positive together, with this one positive too.
        let paid_over_trials = combined.1 >= 2 && combined.0 > Self::Z && gain > 0.0;
        let over_trials = |kept: &str| {
            format!(
                "{kept} paid over {} trials ({:+.0}% this one, z {:.1}) at {}",
                combined.1,
                gain * 100.0,
                combined.0,
                tried.round()
            )
        };

        match direction {
            Direction::Up if self.fleet_moved(&from) => {
                // Other replicas changed their limits during the experiment: its gain is
                // theirs as much as this replica's (a neighbour stepping down hands its share
                // over). Not evidence for more concurrency; the probe comes again later.
                self.revert(
                    now,
                    from,
                    format!(
                        "the fleet moved ({:.0} -> {:.0} other permits) while trying {}: back to {}",
                        from.others,
                        self.fleet_others,
                        tried.round(),
                        from.limit.round()
                    ),
                );
            }
            Direction::Up => {
                if !used && gain <= threshold {
                    // The extra permits were hardly used and did not pay: demand, not capacity,
                    // is the bound.
                    self.revert(
                        now,
                        from,
                        format!(
                            "limit {} not in use: back to {}",
                            tried.round(),
                            from.limit.round()
                        ),
                    );
                    return;
                }
                // More concurrency that costs no latency and loses no goodput is kept even if
                // the gain is within the noise: below the knee it is free, above the knee calls
                // get slower at once (and that is what this test sees).
                let rtt_tolerance =
                    (Self::Z * (w.rtt_se.powi(2) + from.rtt_se.powi(2)).sqrt()).max(Self::FREE_RTT);
                // Not in a fleet: there one replica's permit moves the shared downstream's
                // latency by a fraction of the noise, so "no slower" is no evidence, and free
                // steps up against steps down that must pay let the fleet's total creep up
                // (RELIABILITY.md, run U). A step of a replica in a fleet is kept only if it
                // pays, in either direction.
                let free = used
                    && gain > 0.0
                    && w.rtt <= from.rtt * (1.0 + rtt_tolerance)
                    && !self.in_fleet();
                if free
                    && gain <= threshold
                    && gain >= Self::RISING * self.fleet_step(&from, tried)
                    && may_grow
                    && tried < self.max()
                    && mode != Mode::Bisect
                    && !self.in_fleet()
                {
                    // Free and (nearly) proportional: well below the knee (a capacity that
                    // grew, a burst after a quiet period). Keep climbing, doubling the step,
                    // instead of one probe per cooldown: the 8 → 64 step took 16 s that way.
                    self.accelerate(
                        here,
                        from.limit,
                        format!("more concurrency is free and pays ({:+.0}%)", gain * 100.0),
                    );
                    return;
                }
                // A multiplicative step that neither paid nor cost anything (goodput within
                // the noise, calls no slower) is kept too: the capacity is not reached, so the
                // lower limit would leave permits idle the moment demand grows.
                let free_climb = mode == Mode::Multiplicative
                    && used
                    && gain > -threshold
                    && w.rtt <= from.rtt * (1.0 + rtt_tolerance);
                // Not under sustained local load: there only a clear gain is kept.
                if (free || free_climb) && gain <= threshold && !self.under_load {
                    self.settle(
                        now,
                        here,
                        format!(
                            "more concurrency is free ({:+.0}%, rtt {:+.0}%) at {}",
                            gain * 100.0,
                            (w.rtt / from.rtt - 1.0) * 100.0,
                            tried.round()
                        ),
                    );
                    return;
                }
                if gain > threshold {
                    let relative_step = self.fleet_step(&from, tried);
                    let rising = gain >= Self::RISING * relative_step;
                    // Near the plateau (gain well under proportional) a successful probe moves
                    // the limit one step per cooldown: a lucky window cannot start a climb.
                    // In a fleet every replica takes one step per turn: one permit is already
                    // a large step of the fleet's total, and a chain of them would run through
                    // the other replicas' turns.
                    if !may_grow
                        || tried >= self.max()
                        || mode == Mode::Bisect
                        || !rising
                        || self.in_fleet()
                    {
                        self.settle(
                            now,
                            here,
                            format!("throughput +{:.0}% at {}", gain * 100.0, tried.round()),
                        );
                        return;
                    }
                    // Accelerate: double the last step, but grow at most x GROWTH_FACTOR. After
                    // a one-step probe this starts gently (+2, +4, ...), so a probe that was
                    // lucky overshoots by little; from a slow-start step it keeps the pace.
                    self.accelerate(
                        here,
                        from.limit,
                        format!("throughput still rising (+{:.0}%)", gain * 100.0),
                    );
                } else if mode == Mode::Multiplicative
                    && gain < -threshold
                    && tried - from.limit >= 2.0
                {
                    // Overshoot: the optimum lies between; try the midpoint once.
                    self.phase = Phase::Step {
                        from,
                        direction: Direction::Up,
                        mode: Mode::Bisect,
                        descending: false,
                    };
                    self.set_limit(
                        (from.limit + tried) / 2.0,
                        format!(
                            "throughput {:.0}% at {}: bisecting",
                            gain * 100.0,
                            tried.round()
                        ),
                    );
                } else if paid_over_trials && may_grow && !self.under_load {
                    self.evidence_up.clear();
                    self.settle(now, here, over_trials("more concurrency"));
                } else {
                    self.revert(
                        now,
                        from,
                        format!(
                            "throughput plateau ({:+.0}% at {}, noise ±{:.0}%): back to {}",
                            gain * 100.0,
                            tried.round(),
                            threshold * 100.0,
                            from.limit.round()
                        ),
                    );
                }
            }
            Direction::Down => {
                // Less concurrency pays if goodput rose, or if it held while calls got clearly
                // faster (same work, less waiting).
                let faster = w.rtt < from.rtt * (1.0 - Self::FASTER.max(threshold));
                if gain > threshold || (gain > -threshold && faster) {
                    // The downstream was over capacity.
                    if tried <= self.min() || mode == Mode::Bisect || self.in_fleet() {
                        self.settle(
                            now,
                            here,
                            format!("throughput {:+.0}% at {}", gain * 100.0, tried.round()),
                        );
                        return;
                    }
                    // Still slower than the healthy reference: size the next step by the
                    // gradient, as in `decide_confirm`; otherwise creep down.
                    let gradient = self
                        .reference
                        .map_or(1.0, |reference| w.rtt / reference.rtt.max(1e-9));
                    let (next, mode) = if gradient > Self::STEP_GRADIENT {
                        (
                            (tried / gradient).max(tried * Self::FAST_DESCENT_FACTOR),
                            Mode::Multiplicative,
                        )
                    } else {
                        (
                            tried - (tried * Self::PROBE_FRACTION).round().max(1.0),
                            Mode::Additive,
                        )
                    };
                    self.phase = Phase::Step {
                        from: here,
                        direction: Direction::Down,
                        mode,
                        descending: true,
                    };
                    self.set_limit(
                        next,
                        format!(
                            "less concurrency, more throughput ({:+.0}%, rtt {:+.0}%)",
                            gain * 100.0,
                            (w.rtt / from.rtt - 1.0) * 100.0
                        ),
                    );
                } else if mode == Mode::Multiplicative
                    && descending
                    && gain < -threshold
                    && from.limit - tried >= 2.0
                {
                    self.phase = Phase::Step {
                        from,
                        direction: Direction::Down,
                        mode: Mode::Bisect,
                        descending: false,
                    };
                    self.set_limit(
                        (from.limit + tried) / 2.0,
                        format!(
                            "throughput {:.0}% at {}: bisecting",
                            gain * 100.0,
                            tried.round()
                        ),
                    );
                } else if paid_over_trials {
                    self.evidence_down.clear();
                    self.settle(now, here, over_trials("less concurrency"));
                } else if mode == Mode::Additive
                    && used
                    && gain > 0.0
                    && from.limit >= Self::HALVING_FROM
                    && self.halved_from != Some(from.limit.round())
                    && !self.in_fleet()
                {
                    self.halved_from = Some(from.limit.round());
                    // One step down gained a little, within the noise: the slope points down
                    // but is too shallow to measure one step at a time. On a downstream bound
                    // by its own CPU, goodput falls slowly with the limit over a wide range
                    // and steeply only near its few cores; halving measures the slope where
                    // it is clear. Judged like any step: kept only if it pays.
                    self.phase = Phase::Step {
                        from,
                        direction: Direction::Down,
                        mode: Mode::Multiplicative,
                        descending: false,
                    };
                    self.set_limit(
                        from.limit * Self::HALVING,
                        format!(
                            "less concurrency gained within the noise ({:+.0}% at {}): trying {}",
                            gain * 100.0,
                            tried.round(),
                            (from.limit * Self::HALVING).round()
                        ),
                    );
                } else {
                    // Less concurrency did not pay: keep the higher limit. If this descent was
                    // started by slower calls, they were a latency shift, not queueing:
                    // re-baseline the reference to the new latency.
                    self.revert(
                        now,
                        from,
                        format!(
                            "less concurrency did not pay ({:+.0}% at {}, noise ±{:.0}%): keeping {}",
                            gain * 100.0,
                            tried.round(),
                            threshold * 100.0,
                            from.limit.round()
                        ),
                    );
                }
            }
        }
    }
}

impl Adaptive {
    /// A step up whose extra permits clearly go unused can be judged early: there is no goodput
    /// difference to measure precisely.
    fn probe_clearly_unused(&self) -> bool {
        matches!(
            self.phase,
            Phase::Step {
                direction: Direction::Up,
                ..
            }
        ) && self.window.samples() >= 32
            && self.window.used_fraction() < 0.1
    }
}

impl ScalingStrategy for Adaptive {
    fn name(&self) -> &'static str {
        "adaptive"
    }

    fn limit(&self) -> usize {
        self.config.clamp(self.limit.round() as usize)
    }

    fn on_sample(&mut self, sample: &Sample) -> usize {
        let rtt = sample.rtt.as_secs_f64();
        self.rtt_ewma = if self.rtt_ewma == 0.0 {
            rtt
        } else {
            self.rtt_ewma + 0.05 * (rtt - self.rtt_ewma)
        };
        let failed = if sample.outcome == Outcome::Success {
            0.0
        } else {
            1.0
        };
        self.error_rate += (failed - self.error_rate) / Self::ERROR_SAMPLES;

        // A probe that waited for this replica's turn starts with the turn, not at the end
        // of the next window (which could end after the turn does).
        if let Some(may_grow) = self.awaiting_turn
            && self.phase == Phase::Hold
            && self.may_start_probe(sample.now)
            && let Some(reference) = self.reference
        {
            self.awaiting_turn = None;
            self.start_probe(sample.now, reference, may_grow);
            self.window.reset();
            return self.limit();
        }

        if !self.settled {
            // Cooldown: samples of calls dispatched under an older limit describe that limit.
            self.samples_since_change += 1;
            let current = self.limit();
            if sample.limit == current || self.samples_since_change as usize > 2 * current + 8 {
                self.settled = true;
            } else {
                return current;
            }
        }
        // Only calls dispatched under the current limit describe it (calls from before a
        // change may still complete after the first new one). An engine that does not fill in
        // `Sample::limit` faithfully is detected and then every sample counts.
        if sample.limit == self.limit() {
            self.limit_field_trusted = true;
        } else if self.limit_field_trusted {
            return self.limit();
        }
        if let Some(step) = &mut self.error_step {
            step.samples = step.samples.saturating_add(1);
            step.failures += u32::from(sample.outcome != Outcome::Success);
        }
        self.window.add(sample);
        if self.window.is_ready(&self.policy()) || self.probe_clearly_unused() {
            let stats = self.window.finish();
            self.decide(sample.now, stats);
        }
        self.limit()
    }

    fn reason(&self) -> &str {
        &self.reason
    }

    fn set_fleet(&mut self, view: FleetView) {
        self.fleet_others = view.others_permits as f64;
        self.fleet_replicas = view.replicas as f64;
        self.fleet = view;
        if view.replicas > 0 {
            self.join_fleet(view.replicas + 1);
        }
    }

    fn warm_start(&mut self, limit: usize) {
        self.limit = self.config.clamp(limit) as f64;
        self.reference = None;
        self.resume = None;
        self.plateau_known = true;
        self.phase = Phase::Hold;
        self.hold_windows = Self::HOLD_WINDOWS;
        self.window.reset();
        self.reason = "warm start".to_string();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `replicas` other replicas holding `others_permits`, without turns.
    fn view(others_permits: usize, replicas: usize) -> FleetView {
        FleetView {
            replicas,
            others_permits,
            ..FleetView::default()
        }
    }

    /// A call that completed with the limit full and work queued (10 keys per call).
    fn saturated(
        now: Duration,
        limit: usize,
        rtt: Duration,
        local_load: f64,
        outcome: Outcome,
    ) -> Sample {
        Sample {
            now,
            rtt,
            batch_size: 10,
            in_flight: limit,
            limit,
            queued: 50,
            local_load,
            outcome,
            requests_ended: 0,
        }
    }

    /// Feeds `seconds` of saturated traffic: calls of `rtt_ms` at the current limit, each
    /// dispatched with the limit full and work queued, completing at `limit / rtt` per second.
    fn saturate(
        adaptive: &mut Adaptive,
        now: &mut Duration,
        seconds: f64,
        rtt_ms: f64,
        local_load: f64,
        error_every: Option<u32>,
    ) {
        let end = *now + Duration::from_secs_f64(seconds);
        let mut i = 0u32;
        while *now < end {
            let limit = adaptive.limit();
            *now += Duration::from_secs_f64(rtt_ms / 1000.0 / limit as f64);
            i += 1;
            let failed = error_every.is_some_and(|every| i.is_multiple_of(every));
            adaptive.on_sample(&saturated(
                *now,
                limit,
                Duration::from_secs_f64(rtt_ms / 1000.0),
                local_load,
                if failed {
                    Outcome::Error
                } else {
                    Outcome::Success
                },
            ));
        }
    }

    fn adaptive(initial: usize) -> Adaptive {
        Adaptive::new(StrategyConfig {
            initial_concurrency: initial,
            max_concurrency: 64,
            ..StrategyConfig::default()
        })
    }

    #[test]
    fn slow_start_grows_to_max_while_goodput_keeps_rising() {
        // Calls never slow down: goodput grows with every permit, up to max_concurrency.
        let mut adaptive = adaptive(4);
        let mut now = Duration::ZERO;
        saturate(&mut adaptive, &mut now, 2.0, 5.0, 0.1, None);
        assert_eq!(adaptive.limit(), 64, "{}", adaptive.reason());
    }

    /// A window measured at `limit` with the given goodput and mean RTT (5% noise on each).
    fn window_at(limit: f64, goodput: f64, rtt: f64) -> WindowStats {
        WindowStats {
            duration_s: 0.1,
            samples: 64,
            error_rate: 0.0,
            goodput,
            se: 0.02,
            rtt,
            rtt_se: 0.01,
            in_flight: limit,
            used: 1.0,
            local_load: 0.1,
            requests: None,
        }
    }

    /// Puts the controller in the middle of a multiplicative step up from `from` to `to`.
    fn climbing(from: f64, to: f64, goodput: f64, rtt: f64) -> Adaptive {
        let mut adaptive = adaptive(from as usize);
        adaptive.limit = to;
        adaptive.phase = Phase::Step {
            from: Measure::of(from, &window_at(from, goodput, rtt), 0.0),
            direction: Direction::Up,
            mode: Mode::Multiplicative,
            descending: false,
        };
        adaptive
    }

    #[test]
    fn a_climb_step_that_costs_nothing_is_kept_even_if_it_did_not_pay() {
        // 42 -> 52 during a climb: goodput within the noise (-0.5%), calls no slower. The
        // capacity is not reached yet; going back to 42 would leave the new capacity unused.
        let mut adaptive = climbing(42.0, 52.0, 1000.0, 0.007);
        adaptive.decide(Duration::from_secs(1), window_at(52.0, 995.0, 0.007));
        assert_eq!(adaptive.limit(), 52, "{}", adaptive.reason());
        // The same step with calls 20% slower: past the knee, back to 42.
        let mut adaptive = climbing(42.0, 52.0, 1000.0, 0.007);
        adaptive.decide(Duration::from_secs(1), window_at(52.0, 995.0, 0.0084));
        assert_eq!(adaptive.limit(), 42, "{}", adaptive.reason());
    }

    #[test]
    fn error_rate_above_threshold_backs_off_and_says_so() {
        let mut adaptive = adaptive(32);
        adaptive.plateau_known = true;
        let mut now = Duration::ZERO;
        saturate(&mut adaptive, &mut now, 0.5, 5.0, 0.1, Some(5));
        assert!(adaptive.limit() < 32, "limit {}", adaptive.limit());
        assert!(
            adaptive.reason().starts_with("error rate"),
            "{}",
            adaptive.reason()
        );
        // Errors gone: back to the limit held before the burst.
        saturate(&mut adaptive, &mut now, 1.0, 5.0, 0.1, None);
        assert!(adaptive.limit() >= 32, "limit {}", adaptive.limit());
    }

    #[test]
    fn errors_that_do_not_ease_with_less_load_stop_the_backoff() {
        // One call in five fails whatever the load: one step down, then hold.
        let mut adaptive = adaptive(32);
        let mut now = Duration::ZERO;
        saturate(&mut adaptive, &mut now, 2.0, 5.0, 0.1, Some(5));
        assert_eq!(adaptive.limit(), 22);
        assert!(
            adaptive
                .reason()
                .ends_with("not easing with less load: holding")
        );
    }

    #[test]
    fn an_error_rate_eases_only_beyond_the_noise_of_the_window_that_caused_the_step() {
        let step = |rate, measured_over, failures, samples| ErrorStep {
            rate,
            measured_over,
            failures,
            samples,
        };
        // A 20-sample window that caught 6 errors (30%), then 20% over 256 samples: a random
        // 20% failure rate can produce both, so this is no reason for a further step.
        assert!(!step(0.3, 20, 51, 256).eased());
        // 30% over 300 samples, then 10% over 256: the errors came with the load.
        assert!(step(0.3, 300, 26, 256).eased());
        // Beyond the noise but by less than ERROR_EASING: not eased either.
        assert!(!step(0.3, 100_000, 27_000, 100_000).eased());
    }

    #[test]
    fn errors_caused_by_load_keep_the_backoff_going() {
        // Calls fail when more than 10 are in flight, more often the more there are.
        let mut adaptive = adaptive(40);
        let mut now = Duration::ZERO;
        for i in 0..20_000u32 {
            let limit = adaptive.limit();
            now += Duration::from_secs_f64(0.005 / limit as f64);
            let failing_share = limit.saturating_sub(10) as u32;
            let failed = i % 40 < failing_share;
            adaptive.on_sample(&saturated(
                now,
                limit,
                Duration::from_millis(5),
                0.1,
                if failed {
                    Outcome::Error
                } else {
                    Outcome::Success
                },
            ));
        }
        assert!(adaptive.limit() <= 12, "limit {}", adaptive.limit());
    }

    #[test]
    fn errors_between_half_and_the_threshold_neither_back_off_nor_recover() {
        let mut adaptive = adaptive(32);
        let mut now = Duration::ZERO;
        saturate(&mut adaptive, &mut now, 0.2, 5.0, 0.1, Some(5));
        // 4% errors: under the 5% threshold, above half of it: once the smoothed rate has
        // come down from 20%, hold.
        saturate(&mut adaptive, &mut now, 0.5, 5.0, 0.1, Some(25));
        let backed_off = adaptive.limit();
        saturate(&mut adaptive, &mut now, 2.0, 5.0, 0.1, Some(25));
        assert_eq!(adaptive.limit(), backed_off);
    }

    #[test]
    fn local_load_above_backpressure_threshold_backs_off() {
        let mut adaptive = adaptive(32);
        let mut now = Duration::ZERO;
        saturate(&mut adaptive, &mut now, 0.1, 5.0, 0.95, None);
        assert!(adaptive.limit() < 32);
        assert!(adaptive.reason().starts_with("local load 0.95 > 0.90"));
    }

    /// Feeds traffic with `feed` until the local-load backoff says it reached its floor.
    fn until_at_the_floor(adaptive: &mut Adaptive, mut feed: impl FnMut(&mut Adaptive)) {
        for _ in 0..1000 {
            feed(adaptive);
            if adaptive.reason().contains("at the floor") {
                return;
            }
        }
        panic!("never at the floor: {}", adaptive.reason());
    }

    #[test]
    fn local_load_backs_off_to_half_the_held_limit_then_goodput_decides() {
        // A downstream (or a CPU it shares) that serves 12 calls at full speed, while this
        // process stays over 90% busy.
        let mut adaptive = adaptive(32);
        let mut now = Duration::ZERO;
        until_at_the_floor(&mut adaptive, |a| {
            knee(a, &mut now, 0.01, 12.0, 0, 0.99);
        });
        assert_eq!(adaptive.limit(), 16);
        assert_eq!(
            adaptive.reason(),
            "local load 0.99 > 0.90: at the floor, 16; probing by goodput"
        );
        // From the floor, goodput experiments find the knee: fewer calls that are served as
        // fast are kept, one that loses goodput is not.
        knee(&mut adaptive, &mut now, 30.0, 12.0, 0, 0.99);
        assert!(
            (11..=13).contains(&adaptive.limit()),
            "{} ({})",
            adaptive.limit(),
            adaptive.reason()
        );
        // Errors still back off: they are the downstream's signal.
        let held = adaptive.limit();
        saturate(&mut adaptive, &mut now, 2.0, 5.0, 0.99, Some(3));
        assert!(adaptive.limit() < held);
    }

    #[test]
    fn a_backoff_that_stops_between_the_thresholds_probes_by_goodput() {
        // One window over `backpressure_threshold`, then the process stays busier than
        // `target_utilization` but under the threshold: the backoff stops where it is and
        // goodput experiments find the downstream's knee (12 calls) from there.
        let mut adaptive = adaptive(32);
        let mut now = Duration::ZERO;
        while adaptive.limit() == 32 {
            knee(&mut adaptive, &mut now, 0.005, 12.0, 0, 0.95);
        }
        let backed_off = adaptive.limit();
        assert!(backed_off > 16, "{backed_off}");
        knee(&mut adaptive, &mut now, 30.0, 12.0, 0, 0.8);
        assert!(
            (11..=13).contains(&adaptive.limit()),
            "{} ({})",
            adaptive.limit(),
            adaptive.reason()
        );
    }

    #[test]
    fn a_new_episode_of_local_load_does_not_halve_the_floor_again() {
        let loaded = |limit: f64, load: f64| WindowStats {
            local_load: load,
            ..window_at(limit, 1000.0, 0.005)
        };
        let mut adaptive = adaptive(4);
        let mut now = Duration::ZERO;
        let mut decide = |adaptive: &mut Adaptive, load: f64| {
            now += Duration::from_millis(100);
            let limit = adaptive.limit;
            adaptive.decide(now, loaded(limit, load));
        };
        while !adaptive.reason().contains("at the floor") {
            decide(&mut adaptive, 0.99);
        }
        assert_eq!(adaptive.limit(), 2);
        // The load eases for a moment while an experiment runs, long after any recovery...
        adaptive.phase = Phase::Step {
            from: Measure::of(2.0, &loaded(2.0, 0.99), 0.0),
            direction: Direction::Down,
            mode: Mode::Additive,
            descending: false,
        };
        decide(&mut adaptive, 0.5);
        assert_eq!(adaptive.limit(), 2, "{}", adaptive.reason());
        // ...and comes back: the limit stays at the floor it had, 2, instead of halving to 1.
        for _ in 0..20 {
            decide(&mut adaptive, 0.99);
        }
        assert_eq!(adaptive.limit(), 2, "{}", adaptive.reason());
    }

    #[test]
    fn under_local_load_a_step_up_is_kept_only_if_it_pays() {
        // Goodput rises with every call (the downstream is far from its capacity): from the
        // floor, each probe that pays is kept, one step per cooldown (no acceleration).
        let mut adaptive = adaptive(32);
        let mut now = Duration::ZERO;
        until_at_the_floor(&mut adaptive, |a| {
            saturate(a, &mut now, 0.01, 5.0, 0.99, None);
        });
        assert_eq!(adaptive.limit(), 16);
        saturate(&mut adaptive, &mut now, 5.0, 5.0, 0.99, None);
        let limit = adaptive.limit();
        assert!(
            (18..=32).contains(&limit),
            "{limit} ({})",
            adaptive.reason()
        );
        assert!(
            adaptive.reason().starts_with("throughput +")
                || adaptive.reason().starts_with("probing")
        );
        // Once the process has headroom again, normal growth resumes.
        saturate(&mut adaptive, &mut now, 10.0, 5.0, 0.2, None);
        assert!(adaptive.limit() > limit + 8, "{}", adaptive.limit());
    }

    #[test]
    fn a_local_load_that_comes_with_the_limit_does_not_make_it_cycle() {
        // The process is over 90% busy above 20 permits and half busy below: the limit held
        // (32) is not sustainable. Returning to it after every backoff would cycle 16 -> 32
        // -> 16 for ever.
        let mut adaptive = adaptive(32);
        let mut now = Duration::ZERO;
        let mut limits = Vec::new();
        let end = Duration::from_secs(20);
        while now < end {
            let limit = adaptive.limit();
            now += Duration::from_secs_f64(0.005 / limit as f64);
            adaptive.on_sample(&saturated(
                now,
                limit,
                Duration::from_millis(5),
                if limit > 20 { 0.95 } else { 0.5 },
                Outcome::Success,
            ));
            limits.push((now, adaptive.limit()));
        }
        // One return to 32 is allowed (a passing spike would deserve it); after the relapse
        // the limit stays just under the load's edge, probing one step over it and back.
        let late = limits.iter().filter(|(at, _)| *at > Duration::from_secs(1));
        let highest = late.map(|&(_, limit)| limit).max().unwrap();
        assert!(
            highest <= 21,
            "the limit went back to {highest} after 1 s ({})",
            adaptive.reason()
        );
        assert!(
            (17..=20).contains(&adaptive.limit()),
            "{}",
            adaptive.limit()
        );
    }

    #[test]
    fn no_growth_while_local_load_is_above_target_utilization() {
        let mut adaptive = adaptive(8);
        let mut now = Duration::ZERO;
        saturate(&mut adaptive, &mut now, 2.0, 5.0, 0.8, None);
        assert_eq!(adaptive.limit(), 8);
    }

    #[test]
    fn a_limit_not_in_use_moves_neither_up_nor_down() {
        let mut adaptive = adaptive(20);
        let mut now = Duration::ZERO;
        for i in 0..20_000u64 {
            now += Duration::from_micros(500);
            let limit = adaptive.on_sample(&Sample {
                now,
                rtt: Duration::from_millis(if i % 7 == 0 { 40 } else { 5 }),
                batch_size: 5,
                in_flight: 3,
                limit: 20,
                queued: 0,
                local_load: 0.1,
                outcome: Outcome::Success,
                requests_ended: 0,
            });
            assert_eq!(limit, 20);
        }
    }

    /// Feeds `seconds` of traffic to one replica of a fleet on a shared downstream that runs
    /// `capacity` calls at full speed: with `others` permits held by the other replicas, a
    /// call takes `5 ms × max(1, total / capacity)` (the downstream's time is shared, so the
    /// fleet's goodput is flat beyond the capacity, and each replica's share is its share of
    /// the permits), with a little deterministic jitter.
    fn knee(
        adaptive: &mut Adaptive,
        now: &mut Duration,
        seconds: f64,
        capacity: f64,
        others: usize,
        local_load: f64,
    ) {
        let base_ms = 5.0;
        let end = *now + Duration::from_secs_f64(seconds);
        let mut i = 0u64;
        while *now < end {
            let limit = adaptive.limit();
            let total = (limit + others) as f64;
            let jitter = 1.0 + 0.02 * ((i * 7919 % 11) as f64 - 5.0) / 5.0;
            let rtt_ms = base_ms * (total / capacity).max(1.0) * jitter;
            *now += Duration::from_secs_f64(rtt_ms / 1000.0 / limit as f64);
            i += 1;
            adaptive.on_sample(&saturated(
                *now,
                limit,
                Duration::from_secs_f64(rtt_ms / 1000.0),
                local_load,
                Outcome::Success,
            ));
        }
    }

    /// [`knee`] for a fleet on a downstream of capacity 3, with the process not busy.
    fn share(adaptive: &mut Adaptive, now: &mut Duration, seconds: f64, others: usize) {
        knee(adaptive, now, seconds, 3.0, others, 0.2);
    }

    #[test]
    fn in_a_fleet_a_replica_judges_its_steps_by_the_fleets_goodput() {
        // Three replicas on a downstream that serves 3 calls at once; the two others hold 1
        // permit each. Alone, this replica sees its own goodput rise with every permit it
        // takes from the others, and stays far above its share.
        let mut alone = adaptive(4);
        let mut now = Duration::ZERO;
        share(&mut alone, &mut now, 30.0, 2);
        assert!(alone.limit() >= 4, "without the fleet: {}", alone.limit());

        // Told about the others, it sees that its steps move the fleet's goodput by nothing
        // beyond the capacity, and walks down to where the fleet stops gaining: a total of 3.
        // (Warm at 4: a cold one would start at its share of the initial limit, 1.)
        let mut fleet = adaptive(4);
        fleet.warm_start(4);
        fleet.set_fleet(view(2, 2));
        let mut now = Duration::ZERO;
        share(&mut fleet, &mut now, 30.0, 2);
        assert!(
            fleet.limit() <= 2,
            "with the fleet: {} ({})",
            fleet.limit(),
            fleet.reason()
        );
    }

    /// A downstream bound by its own CPU: goodput `1000 × (1 − log2(L) / 8)` keys/s at limit
    /// `L` (fewer, larger batches cost less per key): each halving of the limit gains 12–25%,
    /// one step down from 8 under 4%. The engine's queue holds 80 keys, so a call carries
    /// `80 / L` of them and its RTT (Little's law) hardly moves with the limit: only
    /// goodput tells the limits apart. Each RTT varies by ±30% (seeded pseudo-random).
    fn cpu_bound(adaptive: &mut Adaptive, now: &mut Duration, seconds: f64, seed: &mut u64) {
        let goodput = |limit: usize| 1000.0 * (1.0 - (limit as f64).log2() / 8.0);
        // xorshift64: noise without a period that one window would average out.
        let mut jitter = || {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            1.0 + 0.3 * ((*seed % 2001) as f64 / 1000.0 - 1.0)
        };
        curve(adaptive, now, seconds, goodput, &mut jitter);
    }

    /// [`curve_serving`] for callers that do not admit requests (judged by keys).
    fn curve(
        adaptive: &mut Adaptive,
        now: &mut Duration,
        seconds: f64,
        goodput: impl Fn(usize) -> f64,
        jitter: &mut impl FnMut() -> f64,
    ) {
        let mut served = 0.0;
        curve_serving(
            adaptive,
            now,
            seconds,
            goodput,
            |_| 0.0,
            &mut served,
            jitter,
        );
    }

    /// A downstream whose goodput at limit `L` is `goodput(L)` keys/s, with a queue of 80
    /// keys (as in [`cpu_bound`]); each RTT is multiplied by `jitter()`. Requests end at
    /// `requests(L)` per second, counted in `served` (the samples' running count).
    fn curve_serving(
        adaptive: &mut Adaptive,
        now: &mut Duration,
        seconds: f64,
        goodput: impl Fn(usize) -> f64,
        requests: impl Fn(usize) -> f64,
        served: &mut f64,
        jitter: &mut impl FnMut() -> f64,
    ) {
        let end = *now + Duration::from_secs_f64(seconds);
        while *now < end {
            let limit = adaptive.limit();
            let goodput = goodput(limit);
            let keys = (80 / limit).max(1);
            let jitter = jitter();
            let rtt = limit as f64 * keys as f64 / goodput * jitter;
            let step = rtt / limit as f64;
            *now += Duration::from_secs_f64(step);
            *served += requests(limit) * step;
            adaptive.on_sample(&Sample {
                now: *now,
                rtt: Duration::from_secs_f64(rtt),
                batch_size: keys,
                in_flight: limit,
                limit,
                queued: 80,
                local_load: 0.2,
                outcome: Outcome::Success,
                requests_ended: *served as u64,
            });
        }
    }

    #[test]
    fn on_a_cpu_bound_downstream_a_shallow_slope_is_followed_down_by_halving() {
        // From 8, one step down gains under 4%, within the noise of ±30% calls; halving
        // gains 20%. The limit walks down to the few calls the downstream serves best.
        for mut seed in [1u64, 7, 42, 1234] {
            let mut a = adaptive(8);
            a.warm_start(8);
            let mut now = Duration::ZERO;
            cpu_bound(&mut a, &mut now, 60.0, &mut seed);
            assert!(a.limit() <= 3, "limit {} ({})", a.limit(), a.reason());
        }
    }

    #[test]
    fn a_cold_replica_joining_a_fleet_takes_its_share_of_the_initial_limit() {
        // Initial 8, one of 3 replicas: 8 / 3 rounds to 3.
        let mut a = Adaptive::new(StrategyConfig {
            initial_concurrency: 8,
            ..StrategyConfig::default()
        });
        a.set_fleet(view(8, 2));
        assert_eq!(a.limit(), 3, "{}", a.reason());
        assert!(
            a.reason().starts_with("one of 3 replicas"),
            "{}",
            a.reason()
        );
        // Only once: later heartbeats (more replicas, other limits) leave it to experiments.
        a.set_fleet(view(20, 5));
        assert_eq!(a.limit(), 3);
        // A warm replica keeps the limit it restored.
        let mut warm = adaptive(4);
        warm.warm_start(6);
        warm.set_fleet(view(8, 2));
        assert_eq!(warm.limit(), 6);
    }

    #[test]
    fn a_fleet_that_starts_at_its_share_climbs_while_permits_pay() {
        // Two other replicas hold 4 permits each on a downstream that serves 24 calls at
        // full speed. A cold replica starts at its share of the initial 4 (1) and climbs by
        // steps that pay, up to about the others' mean (it probes towards their mean first,
        // so replicas with equal demand end at similar limits; in a real fleet they climb
        // too, in turns).
        let mut a = adaptive(4);
        a.set_fleet(view(8, 2));
        assert_eq!(a.limit(), 1);
        let mut now = Duration::ZERO;
        knee(&mut a, &mut now, 60.0, 24.0, 8, 0.2);
        assert!(
            (4..=6).contains(&a.limit()),
            "{} ({})",
            a.limit(),
            a.reason()
        );
    }

    #[test]
    fn in_a_fleet_a_step_up_is_kept_only_if_it_pays() {
        // 2 -> 3 with 4 permits elsewhere: +2% for the fleet (within the noise), calls no
        // slower. Alone that is free growth; in a fleet it is reverted like a step down that
        // did not pay, so the fleet's total does not creep up.
        let step = |fleet: bool| {
            let mut a = adaptive(2);
            if fleet {
                a.set_fleet(view(4, 2));
            }
            let others = if fleet { 4.0 } else { 0.0 };
            a.limit = 3.0;
            a.phase = Phase::Step {
                from: Measure::of(2.0, &window_at(2.0, 1000.0, 0.01), others),
                direction: Direction::Up,
                mode: Mode::Additive,
                descending: false,
            };
            // The fleet's +2% is a local ratio of 1.02 over the share change 2/6 -> 3/7.
            let local = if fleet {
                1.02 * (3.0 / 7.0) / (2.0 / 6.0)
            } else {
                1.02
            };
            a.decide(Duration::from_secs(1), window_at(3.0, 1000.0 * local, 0.01));
            (a.limit(), a.reason().to_string())
        };
        let (alone, reason) = step(false);
        assert_eq!(alone, 3, "{reason}");
        let (fleet, reason) = step(true);
        assert_eq!(fleet, 2, "{reason}");
        assert!(reason.starts_with("throughput plateau"), "{reason}");
    }

    #[test]
    fn requests_served_decide_where_keys_per_second_mislead() {
        // Keys per second rise 6% per permit, but each request costs more keys at higher
        // limits (smaller batches load shared keys twice): requests per second peak at 2.
        let keys = |limit: usize| 1000.0 * (1.0 + 0.06 * (limit as f64 - 2.0));
        let requests = |limit: usize| match limit {
            0 | 1 => 70.0,
            2 => 100.0,
            l => 100.0 * (1.0 - 0.1 * (l as f64 - 2.0)).max(0.2),
        };
        let run = |count_requests: bool| {
            let mut i = 0u64;
            let mut jitter = || {
                i += 1;
                1.0 + 0.1 * ((i * 7 % 11) as f64 - 5.0) / 5.0
            };
            let mut a = adaptive(4);
            a.warm_start(4);
            let mut now = Duration::ZERO;
            let mut served = 0.0;
            let rate = |limit: usize| if count_requests { requests(limit) } else { 0.0 };
            curve_serving(&mut a, &mut now, 30.0, keys, rate, &mut served, &mut jitter);
            // The limits held over the next 30 s, every 50 ms (probes come and go).
            let mut held = Vec::new();
            for _ in 0..600 {
                curve_serving(&mut a, &mut now, 0.05, keys, rate, &mut served, &mut jitter);
                held.push(a.limit());
            }
            held.sort_unstable();
            (held[held.len() / 2], a.reason().to_string())
        };
        // By keys the controller climbs: every permit seems to pay.
        let (by_keys, reason) = run(false);
        assert!(by_keys > 4, "by keys, median limit {by_keys} ({reason})");
        // By requests served it walks down to the limit that serves the most, and holds it.
        let (by_requests, reason) = run(true);
        assert_eq!(by_requests, 2, "by requests, median limit ({reason})");
    }

    #[test]
    fn a_small_gain_that_recurs_over_several_probes_is_kept() {
        // From 3, one step down gains 6.4% (fewer, larger batches), within the noise of one
        // probe of calls varying by ±40%; below 2 goodput halves. Probe after probe the same small gain
        // comes back: together the trials are clear, and the limit moves to 2.
        let goodput = |limit: usize| match limit {
            0 | 1 => 500.0,
            l => 1000.0 * (1.0 - 0.06 * (l as f64 - 2.0)),
        };
        for phase in [0u64, 3, 5, 8] {
            // ±40% in a fixed pattern: each window's mean is nearly exact, its standard
            // error is not small.
            let mut i = phase;
            let mut jitter = || {
                i += 1;
                1.0 + 0.4 * ((i * 7 % 11) as f64 - 5.0) / 5.0
            };
            let mut a = adaptive(3);
            a.warm_start(3);
            let mut now = Duration::ZERO;
            let mut single_trials = 0;
            let mut reasons = Vec::new();
            while now < Duration::from_secs(60) && (a.limit() != 2 || a.phase != Phase::Hold) {
                curve(&mut a, &mut now, 0.05, goodput, &mut jitter);
                if reasons.last().map(String::as_str) != Some(a.reason()) {
                    reasons.push(a.reason().to_string());
                    single_trials +=
                        usize::from(a.reason().starts_with("less concurrency did not pay"));
                }
            }
            // Keep going: the lower limit is held, not left again by one unlucky probe.
            curve(&mut a, &mut now, 20.0, goodput, &mut jitter);
            assert_eq!(a.limit(), 2, "phase {phase}: {reasons:?}");
            assert!(
                reasons
                    .iter()
                    .any(|r| r.starts_with("less concurrency paid over")),
                "phase {phase}: moved by a single trial: {reasons:?}"
            );
            assert!(single_trials >= 1, "phase {phase}: {reasons:?}");
        }
    }

    #[test]
    fn in_a_fleet_with_turns_probes_start_only_in_this_replicas_slot() {
        // Replica 1 of 3, with the fleet's clock at 0 s when the strategy's read 0 s: its
        // slots are [2.5, 5), [10, 12.5), ... s.
        let mut a = adaptive(3);
        a.warm_start(3);
        let turn = FleetView {
            rank: 1,
            clock: Some(Duration::ZERO),
            ..view(6, 2)
        };
        a.set_fleet(turn);
        let mut now = Duration::ZERO;
        let mut starts = Vec::new();
        let mut last = String::new();
        while now < Duration::from_secs(60) {
            share(&mut a, &mut now, 0.001, 6);
            if a.reason() != last {
                last = a.reason().to_string();
                if last.starts_with("probing") {
                    starts.push(turn.slot_of(now, Adaptive::FLEET_SLOT).expect("turns"));
                }
            }
        }
        assert!(starts.len() >= 4, "{starts:?}");
        // Every probe started early in this replica's slot (a sample is at most ~2 ms late).
        let late = Adaptive::FLEET_SLOT_START + Duration::from_millis(5);
        assert!(
            starts
                .iter()
                .all(|(rank, into)| *rank == 1 && *into <= late),
            "{starts:?}"
        );
        // A probe that waited for the turn started with it, not at the end of a window.
        assert!(
            starts
                .iter()
                .any(|(_, into)| *into <= Duration::from_millis(20)),
            "{starts:?}"
        );
    }

    #[test]
    fn a_step_up_while_the_fleet_steps_down_is_not_kept() {
        // Three replicas on a downstream that serves 3 calls at once. This one holds 2; the
        // others drop from 4 permits to 1 while it probes up: its goodput leaps with its
        // share, which is not evidence that more concurrency pays.
        let mut a = adaptive(2);
        a.warm_start(2);
        a.set_fleet(view(4, 2));
        let mut now = Duration::ZERO;
        while !matches!(
            a.phase,
            Phase::Step {
                direction: Direction::Up,
                ..
            }
        ) {
            share(&mut a, &mut now, 0.05, 4);
            assert!(now < Duration::from_secs(30), "no probe up: {}", a.reason());
        }
        a.set_fleet(view(1, 2));
        while matches!(a.phase, Phase::Step { .. }) {
            share(&mut a, &mut now, 0.05, 1);
        }
        assert_eq!(a.limit(), 2, "{}", a.reason());
        assert!(a.reason().starts_with("the fleet moved"), "{}", a.reason());
    }

    /// The reason of the first experiment (a probe or a slow-start step): feeds `share` a
    /// sample or two at a time until one starts.
    fn first_probe(a: &mut Adaptive, others: usize) -> String {
        let mut now = Duration::ZERO;
        loop {
            share(a, &mut now, 0.001, others);
            let reason = a.reason();
            if reason.starts_with("probing") || reason.starts_with("slow start") {
                return reason.to_string();
            }
            assert!(now < Duration::from_secs(30), "no probe: {reason}");
        }
    }

    #[test]
    fn in_a_fleet_probes_go_towards_the_others_mean_limit_first() {
        // Alone, the first probe after a warm start goes up.
        let mut alone = adaptive(6);
        alone.warm_start(6);
        assert!(first_probe(&mut alone, 0).starts_with("probing up from 6"));
        // Two other replicas hold 1 permit each: this one, at 6, probes down first.
        let mut high = adaptive(6);
        high.warm_start(6);
        high.set_fleet(view(2, 2));
        let reason = first_probe(&mut high, 2);
        assert!(reason.starts_with("probing down from 6"), "{reason}");
        // Two others hold 8 each: this one, at 2, probes up, and up again after a revert.
        let mut low = adaptive(2);
        low.warm_start(2);
        low.set_fleet(view(16, 2));
        let mut now = Duration::ZERO;
        let mut probes = Vec::new();
        let mut last = String::new();
        while probes.len() < 3 && now < Duration::from_secs(60) {
            share(&mut low, &mut now, 0.05, 16);
            if low.reason() != last {
                last = low.reason().to_string();
                if last.starts_with("probing") {
                    probes.push(last.clone());
                }
            }
        }
        assert_eq!(probes.len(), 3, "{probes:?}");
        assert!(
            probes.iter().all(|p| p.starts_with("probing up")),
            "{probes:?}"
        );
    }

    #[test]
    fn in_a_fleet_a_cold_replica_probes_one_step_instead_of_slow_start() {
        let mut alone = adaptive(4);
        let reason = first_probe(&mut alone, 0);
        assert!(reason.starts_with("slow start"), "{reason}");
        // One of three: from its share of the initial limit (4 / 3: 1), one step up.
        let mut fleet = adaptive(4);
        fleet.set_fleet(view(8, 2));
        let reason = first_probe(&mut fleet, 8);
        assert!(reason.starts_with("probing up from 1"), "{reason}");
        assert_eq!(fleet.limit(), 2);
    }

    #[test]
    fn alone_the_fleet_correction_changes_nothing() {
        let at = |limit: f64, others: f64| Measure {
            limit,
            goodput: Goodput {
                keys: 100.0,
                keys_se: 0.01,
                requests: None,
            },
            rtt: 0.01,
            rtt_se: 0.01,
            others,
        };
        let a = adaptive(4);
        assert_eq!(a.fleet_ratio(1.3, &at(4.0, 0.0), 5.0), 1.3);
        assert!((a.fleet_step(&at(4.0, 0.0), 5.0) - 0.25).abs() < 1e-12);
        let mut f = adaptive(4);
        f.set_fleet(view(6, 2));
        // 4 -> 5 permits with 6 elsewhere: a local +25% is the share moving 4/10 -> 5/11.
        assert!((f.fleet_ratio(1.25 * 10.0 / 11.0, &at(4.0, 6.0), 5.0) - 1.0).abs() < 1e-12);
        assert!((f.fleet_step(&at(4.0, 6.0), 5.0) - 0.1).abs() < 1e-12);
        assert!(!f.fleet_moved(&at(4.0, 6.0)));
        // The others went from 8 to 6 meanwhile: the share moved 4/12 -> 5/11.
        assert!((f.fleet_ratio(15.0 / 11.0, &at(4.0, 8.0), 5.0) - 1.0).abs() < 1e-12);
        assert!(f.fleet_moved(&at(4.0, 8.0)));
    }

    #[test]
    fn warm_start_is_clamped_and_skips_slow_start() {
        let mut adaptive = adaptive(4);
        adaptive.warm_start(1000);
        assert_eq!(adaptive.limit(), 64);
        assert_eq!(adaptive.reason(), "warm start");
        adaptive.warm_start(0);
        assert_eq!(adaptive.limit(), 1);
        assert!(adaptive.plateau_known);
    }
}
