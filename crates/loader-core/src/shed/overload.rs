//! `OverloadMode`: tells a queue that keeps growing (more new work arrives than the downstream
//! completes, for as long as it lasts) from one that is merely long, and while it lasts lets
//! new work in only when it can start at once.
//!
//! `max_queue_wait` (1 s by default) bounds how long new work may expect to wait. Under an
//! open-loop overload (arrivals that do not slow down when answers do) a FIFO queue fills
//! until that bound, and from then on every request served has waited about that long: the
//! downstream's throughput is the same with a queue of one call's work as with a second of
//! it, so the rest of the queue is pure latency. A queue of closed-loop callers (each waits
//! for its answer before it asks again) cannot grow like that: it is bounded by the number of
//! callers, and refusing them would only move their wait into retries.
//!
//! So the signal is *growth*, measured per tick of [`TICK`]:
//!
//! - the floor of the wait queue (its smallest length in the tick) rose in [`RISING_TICKS`]
//!   consecutive ticks, while new work expected to wait more than [`DEEP_WAVES`] waves of
//!   calls;
//! - and over the last [`FLOW_TICKS`] ticks, new work arrived faster than it was answered: by
//!   [`ARRIVAL_EXCESS`], and by more than [`NOISE`] standard deviations of the answers (they
//!   come a batch at a time). A closed loop asks again only after its answer, so it cannot
//!   keep arrivals above answers. New work is a standalone load (a loader outside any
//!   request scope); the loads of request scopes are neither counted nor shed (below).
//!
//! While the overload lasts:
//!
//! - a standalone load is admitted only if it can start without waiting for a permit; the
//!   rest is refused at once as `Overloaded` ([`OverloadReason::Overload`](crate::OverloadReason::Overload)), told to retry after
//!   [`RETRY_AFTER`];
//! - a batch of standalone loads that waited longer than half a call for its permit is
//!   answered `Overloaded` instead of run: it was queued before the overload was seen, and
//!   serving it would only serve it late;
//! - requests at the door ([`Engine::admit_request`](crate::Engine::admit_request)) and the
//!   loads of request scopes are never refused nor shed by it. A request fans out into levels
//!   that need the queue to batch, and a step of closed-loop clients looks like an open burst
//!   for one round trip: applied at the door, the no-queue rule would turn such a step into
//!   a refusal storm that the clients' retries keep going. The door has its own law
//!   (`shed/door.rs`).
//!
//! It ends when, over a window of [`CALM`], no new work was refused, or the new work offered
//! (admitted or refused) came at less than [`EXIT_DEMAND`] of the rate at which the
//! downstream answered new work when the overload began (with a full queue, hence full batches): then batching in a queue
//! serves the demand again. (Admitting only what starts at once keeps batches small, so
//! counting refusals alone would keep a demand that only batching can serve in the mode.)
//!
//! Pure: time is passed in; the engine feeds it at every batch dispatch.

use std::{collections::VecDeque, time::Duration};

/// Length of one observation tick.
pub(crate) const TICK: Duration = Duration::from_millis(10);
/// Consecutive ticks of a rising queue floor that make an overload.
pub(crate) const RISING_TICKS: u32 = 3;
/// The queue must also be deeper than this many waves of calls (batches waiting, over the
/// limit): a shallow queue that grows is a queue that fills, not an overload.
pub(crate) const DEEP_WAVES: f64 = 1.0;
/// Over the rising ticks, new work must outnumber the work answered by this factor...
pub(crate) const ARRIVAL_EXCESS: f64 = 1.05;
/// ...and by more than this many standard deviations of the count of answers.
pub(crate) const NOISE: f64 = 1.5;
/// New work must outpace answers over the last this many ticks (the answers come a batch at
/// a time: a mild overload of large batches needs ~200 ms to stand out of their noise).
pub(crate) const FLOW_TICKS: usize = 20;
/// An overload ends when the demand (new work admitted or refused) falls under this share of
/// the rate at which new work was answered when it began.
pub(crate) const EXIT_DEMAND: f64 = 0.9;
/// The window over which the end of an overload is judged.
pub(crate) const CALM: Duration = Duration::from_millis(100);
/// What new work refused for the overload is told to wait before it retries.
pub(crate) const RETRY_AFTER: Duration = Duration::from_millis(150);

/// The engine's queue and counters as one observation sees them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct QueueReading {
    /// Loads waiting now (all of them: new work and requests' later levels).
    pub(crate) queued: usize,
    /// Whether new work expects to wait more than [`DEEP_WAVES`] waves.
    pub(crate) deep: bool,
    /// New work (standalone loads) admitted since the engine started.
    pub(crate) arrived: u64,
    /// New work answered since the engine started.
    pub(crate) answered: u64,
    /// Answers since the engine started: a batch answers many standalone loads at once.
    pub(crate) answer_events: u64,
}

/// Counts of new work over a stretch of ticks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Flow {
    arrived: u64,
    answered: u64,
    events: u64,
}

impl Flow {
    fn between(before: &QueueReading, after: &QueueReading) -> Self {
        Self {
            arrived: after.arrived.saturating_sub(before.arrived),
            answered: after.answered.saturating_sub(before.answered),
            events: after.answer_events.saturating_sub(before.answer_events),
        }
    }

    fn add(&mut self, other: Flow) {
        self.arrived += other.arrived;
        self.answered += other.answered;
        self.events += other.events;
    }

    /// Whether arrivals outpaced answers beyond the noise of answers that come `answered /
    /// events` at a time.
    fn outpaced(&self) -> bool {
        let answered = self.answered as f64;
        let excess = self.arrived as f64 - answered;
        let noise = answered / (self.events.max(1) as f64).sqrt();
        excess > (ARRIVAL_EXCESS - 1.0) * answered && excess > NOISE * noise
    }
}

/// See the module documentation.
#[derive(Debug, Clone, Default)]
pub(crate) struct OverloadMode {
    tick_start: Duration,
    /// The counters when the current tick started.
    at_tick_start: QueueReading,
    /// Smallest queue length seen in the current tick.
    floor: Option<usize>,
    previous_floor: Option<usize>,
    /// Whether the queue was deep at some point of the current tick.
    deep: bool,
    /// Consecutive rising ticks.
    rising: u32,
    /// The flow of new work in each of the last [`FLOW_TICKS`] ticks (oldest first).
    recent: VecDeque<Flow>,
    /// Since when the overload is on, and the rate at which new work was answered when it
    /// began (units per second: what the downstream serves with a full queue).
    active_since: Option<Duration>,
    entry_rate: f64,
    /// The demand measured while it lasts: new work offered (admitted or refused) since
    /// `demand_since`, in windows of [`CALM`].
    demand_since: Duration,
    demand_at: (u64, u64),
    refused_total: u64,
    last_refusal: Duration,
    episodes: u64,
}

impl OverloadMode {
    /// The queue at `now`.
    pub(crate) fn observe(&mut self, now: Duration, reading: QueueReading) {
        let elapsed = now.saturating_sub(self.tick_start);
        if elapsed >= TICK {
            self.close_tick(now, elapsed, reading);
        }
        self.floor = Some(self.floor.map_or(reading.queued, |f| f.min(reading.queued)));
        self.deep |= reading.deep;
    }

    fn close_tick(&mut self, now: Duration, elapsed: Duration, reading: QueueReading) {
        let floor = self.floor.take();
        let flow = Flow::between(&self.at_tick_start, &reading);
        // A gap of observations (an idle engine) breaks the run.
        let contiguous = elapsed < TICK * 2;
        if !contiguous {
            self.recent.clear();
        }
        if self.recent.len() == FLOW_TICKS {
            self.recent.pop_front();
        }
        self.recent.push_back(flow);
        match (self.previous_floor, floor) {
            (Some(before), Some(after)) if contiguous && self.deep && after > before => {
                self.rising += 1;
            }
            _ => self.rising = 0,
        }
        self.previous_floor = floor;
        self.deep = false;
        self.tick_start = now;
        self.at_tick_start = reading;
        let recent = self.recent.iter().fold(Flow::default(), |mut sum, f| {
            sum.add(*f);
            sum
        });
        match self.active_since {
            None if self.rising >= RISING_TICKS && recent.outpaced() => {
                let span = TICK.as_secs_f64() * self.recent.len() as f64;
                self.active_since = Some(now);
                self.entry_rate = recent.answered as f64 / span;
                self.demand_since = now;
                self.demand_at = (reading.arrived, self.refused_total);
                self.last_refusal = now;
                self.episodes += 1;
            }
            Some(_) if now.saturating_sub(self.last_refusal) >= CALM => self.end(),
            Some(_) if now.saturating_sub(self.demand_since) >= CALM => {
                let window = now.saturating_sub(self.demand_since).as_secs_f64();
                let offered = reading.arrived.saturating_sub(self.demand_at.0)
                    + self.refused_total.saturating_sub(self.demand_at.1);
                if (offered as f64) / window < EXIT_DEMAND * self.entry_rate {
                    // Less demand than the downstream served with a queue: batching in the
                    // queue serves it.
                    self.end();
                } else {
                    self.demand_since = now;
                    self.demand_at = (reading.arrived, self.refused_total);
                }
            }
            _ => {}
        }
    }

    fn end(&mut self) {
        self.active_since = None;
        self.rising = 0;
    }

    /// `units` of new work (standalone loads) were refused at `now`, for the overload or
    /// another reason: demand the downstream did not serve.
    pub(crate) fn refused(&mut self, now: Duration, units: usize) {
        self.refused_total += units as u64;
        self.last_refusal = self.last_refusal.max(now);
    }

    /// Whether new work is admitted only when it can start at once.
    pub(crate) fn active(&self) -> bool {
        self.active_since.is_some()
    }

    /// How many overloads were seen.
    pub(crate) fn episodes(&self) -> u64 {
        self.episodes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    /// A stream of readings, one per millisecond, with loads answered in batches of `batch`.
    struct Stream {
        t: u64,
        reading: QueueReading,
        batch: u64,
    }

    impl Stream {
        fn new(batch: u64) -> Self {
            Self {
                t: 0,
                reading: QueueReading::default(),
                batch,
            }
        }

        /// For `ms` milliseconds: `arrive` new loads and `answer` answered per millisecond,
        /// the queue at `queued(t)`.
        fn run(
            &mut self,
            mode: &mut OverloadMode,
            ms_: u64,
            arrive: u64,
            answer: u64,
            queued: impl Fn(u64) -> usize,
        ) {
            for _ in 0..ms_ {
                self.reading.arrived += arrive;
                let before = self.reading.answered / self.batch;
                self.reading.answered += answer;
                self.reading.answer_events += self.reading.answered / self.batch - before;
                self.reading.queued = queued(self.t);
                self.reading.deep = true;
                mode.observe(ms(self.t), self.reading);
                self.t += 1;
            }
        }
    }

    #[test]
    fn a_queue_that_grows_while_arrivals_outpace_answers_is_an_overload() {
        let mut mode = OverloadMode::default();
        let mut s = Stream::new(40);
        s.run(&mut mode, 200, 30, 30, |_| 50);
        assert!(!mode.active());
        // Twice as many arrivals as answers: the floor rises every tick.
        s.run(&mut mode, 60, 60, 30, |t| 50 + 30 * (t - 200) as usize);
        assert!(mode.active());
        assert_eq!(mode.episodes(), 1);
    }

    #[test]
    fn a_closed_loop_queue_that_fills_and_holds_is_not() {
        let mut mode = OverloadMode::default();
        let mut s = Stream::new(40);
        s.run(&mut mode, 100, 0, 0, |_| 0);
        // 200 closed-loop callers arrive at once, then ask again as they are answered.
        s.run(&mut mode, 1, 1000, 0, |_| 1000);
        s.run(&mut mode, 2000, 30, 30, |t| 900 + ((t * 37) % 100) as usize);
        assert!(!mode.active());
    }

    #[test]
    fn a_growing_queue_without_excess_arrivals_is_not() {
        // A downstream that slowed down: fewer dispatches, so the queue's floor creeps up,
        // but callers only ask again when answered.
        let mut mode = OverloadMode::default();
        let mut s = Stream::new(40);
        s.run(&mut mode, 500, 30, 30, |t| 100 + t as usize);
        assert!(!mode.active());
    }

    #[test]
    fn an_excess_within_the_noise_of_large_batches_is_not() {
        // 10% more arrivals than answers, but answers come 500 at a time.
        let mut mode = OverloadMode::default();
        let mut s = Stream::new(500);
        s.run(&mut mode, 500, 33, 30, |t| 100 + t as usize);
        assert!(!mode.active());
        // The same excess over answers of 5 loads at a time stands out.
        let mut mode = OverloadMode::default();
        let mut s = Stream::new(5);
        s.run(&mut mode, 500, 33, 30, |t| 100 + t as usize);
        assert!(mode.active());
    }

    #[test]
    fn a_shallow_queue_that_grows_is_not() {
        let mut mode = OverloadMode::default();
        for t in 0..300 {
            let reading = QueueReading {
                queued: t as usize,
                deep: false,
                arrived: 60 * t,
                answered: 30 * t,
                answer_events: t,
            };
            mode.observe(ms(t), reading);
        }
        assert!(!mode.active());
    }

    #[test]
    fn it_lasts_while_new_work_is_refused_and_ends_once_it_is_not() {
        let mut mode = OverloadMode::default();
        let mut s = Stream::new(40);
        s.run(&mut mode, 60, 60, 30, |t| 30 * t as usize);
        assert!(mode.active());
        // Refusals as many as the answers, in all twice the entry rate: it goes on.
        for _ in 0..1500 {
            mode.refused(ms(s.t), 30);
            s.run(&mut mode, 1, 30, 30, |_| 10);
        }
        assert!(mode.active());
        let calm = CALM.as_millis() as u64 + 2 * TICK.as_millis() as u64;
        s.run(&mut mode, calm, 20, 20, |_| 0);
        assert!(!mode.active());
        assert_eq!(mode.episodes(), 1);
    }

    #[test]
    fn it_ends_when_the_demand_falls_under_what_was_served_with_a_queue() {
        let mut mode = OverloadMode::default();
        let mut s = Stream::new(40);
        s.run(&mut mode, 60, 60, 30, |t| 30 * t as usize);
        assert!(mode.active());
        // Still refusing some (small batches serve less), but the demand (20 admitted + 5
        // refused per ms) is under the 30 per ms answered when the overload began.
        for _ in 0..300 {
            mode.refused(ms(s.t), 5);
            s.run(&mut mode, 1, 20, 20, |_| 10);
        }
        assert!(!mode.active());
    }

    #[test]
    fn an_idle_gap_breaks_a_run_of_rising_ticks() {
        let mut mode = OverloadMode::default();
        let mut s = Stream::new(40);
        s.run(&mut mode, 25, 60, 30, |t| 30 * t as usize);
        // Nothing observed for a while, then the queue is lower than before.
        s.t += 500;
        s.run(&mut mode, 25, 60, 30, |t| 30 * (t - 525) as usize);
        assert!(!mode.active());
    }
}
