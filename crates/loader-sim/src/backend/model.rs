//! The backend's queueing model, pure: processor sharing with an overload penalty.

use std::collections::{BTreeMap, HashMap};

use crate::Schedule;

/// Speed of each call, as a fraction of full speed, with `n` calls in flight on a backend of
/// capacity `c` and overload penalty `penalty`:
/// `min(1, c/n) / (1 + penalty * max(0, n - c) / c)`.
///
/// ```
/// use loader_sim::backend::call_rate;
/// assert_eq!(call_rate(8, 32.0, 0.5), 1.0);
/// assert_eq!(call_rate(32, 32.0, 0.5), 1.0);
/// // twice the capacity: half speed each, slowed further by 1 + 0.5 * 32/32
/// assert!((call_rate(64, 32.0, 0.5) - 0.5 / 1.5).abs() < 1e-12);
/// ```
pub fn call_rate(n: usize, c: f64, penalty: f64) -> f64 {
    if n == 0 {
        return 1.0;
    }
    let n = n as f64;
    (c / n).min(1.0) / (1.0 + penalty * (n - c).max(0.0) / c)
}

/// Total completions per unit of full-speed work with `n` calls in flight: `n * call_rate`.
/// Peaks at `n = c`.
pub fn backend_speed(n: usize, c: f64, penalty: f64) -> f64 {
    n as f64 * call_rate(n, c, penalty)
}

/// Ordered finish tag (non-negative finite `f64`).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Tag(f64);

impl Eq for Tag {}

impl PartialOrd for Tag {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Tag {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Processor sharing: every active call progresses at [`call_rate`] of full speed, and the
/// rate changes for all of them whenever a call arrives or leaves, or the capacity or
/// penalty schedule steps.
///
/// Time is in seconds (model time), work in seconds of full-speed service. All calls
/// receive the same service per unit of time, so each call is kept as a *finish tag*: the
/// cumulative per-call service at which it is done; calls finish in tag order.
///
/// ```
/// use loader_sim::{Schedule, backend::ProcessorSharing};
/// let mut ps = ProcessorSharing::new(Schedule::constant(1.0), Schedule::constant(0.0));
/// ps.arrive(0.0, 1, 0.010, "a");
/// ps.arrive(0.0, 2, 0.010, "b");
/// // two calls sharing one unit of capacity: both finish at 20 ms
/// let done = ps.advance(0.020);
/// assert_eq!(done.len(), 2);
/// assert!((done[0].at - 0.020).abs() < 1e-9);
/// ```
#[derive(Debug)]
pub struct ProcessorSharing<T> {
    capacity: Schedule,
    penalty: Schedule,
    /// Multiplier on every call's rate: below 1 while the host stalls.
    speed: Schedule,
    now: f64,
    attained: f64,
    active: BTreeMap<(Tag, u64), T>,
    tags: HashMap<u64, Tag>,
}

/// A call that finished.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion<T> {
    /// The call's id.
    pub id: u64,
    /// Exact model time of completion, s.
    pub at: f64,
    /// What was attached to the call on arrival.
    pub payload: T,
}

/// Tolerance on model times, s: a call due within 1 ns of `to` completes (timer deadlines
/// are converted to whole nanoseconds).
const EPS: f64 = 1e-9;

impl<T> ProcessorSharing<T> {
    /// An idle backend at model time 0.
    pub fn new(capacity: Schedule, penalty: Schedule) -> Self {
        Self {
            capacity,
            penalty,
            speed: Schedule::constant(1.0),
            now: 0.0,
            attained: 0.0,
            active: BTreeMap::new(),
            tags: HashMap::new(),
        }
    }

    /// The same backend whose calls all run at `speed` times their rate (a host that stalls:
    /// below 1 while it does). By default, the speed is 1.
    #[must_use]
    pub fn with_speed(mut self, speed: Schedule) -> Self {
        self.speed = speed;
        self
    }

    /// Calls in service now.
    pub fn in_flight(&self) -> usize {
        self.active.len()
    }

    /// Model time of the last update.
    pub fn now(&self) -> f64 {
        self.now
    }

    /// Advances to `now` (no completions are processed: call [`advance`](Self::advance)
    /// first), then adds a call needing `work` s of full-speed service.
    pub fn arrive(&mut self, now: f64, id: u64, work: f64, payload: T) {
        debug_assert!(now + 1e-9 >= self.now, "time went backwards");
        self.progress_to(now.max(self.now));
        let tag = Tag(self.attained + work.max(0.0));
        self.active.insert((tag, id), payload);
        self.tags.insert(id, tag);
    }

    /// Removes a call before it finished (its caller gave up); returns its payload.
    pub fn cancel(&mut self, now: f64, id: u64) -> Option<T> {
        self.progress_to(now.max(self.now));
        let tag = self.tags.remove(&id)?;
        self.active.remove(&(tag, id))
    }

    /// Runs the model up to `to`, returning every call that finished, in order.
    pub fn advance(&mut self, to: f64) -> Vec<Completion<T>> {
        let to = to.max(self.now);
        let mut done = Vec::new();
        loop {
            let Some((&(tag, _), _)) = self.active.first_key_value() else {
                self.now = to;
                break;
            };
            let segment_end = self.segment_end(to);
            let rate = self.rate();
            let finish = self.now + ((tag.0 - self.attained) / rate).max(0.0);
            if finish <= segment_end + EPS {
                self.now = finish.min(to);
                self.attained = tag.0;
                let ((_, id), payload) = self.active.pop_first().expect("first exists");
                self.tags.remove(&id);
                done.push(Completion {
                    id,
                    at: self.now,
                    payload,
                });
            } else {
                self.attained += (segment_end - self.now) * rate;
                self.now = segment_end;
                if segment_end >= to {
                    break;
                }
            }
        }
        done
    }

    /// Model time of the next completion if nothing arrives (schedule steps included).
    pub fn next_completion(&self) -> Option<f64> {
        let (&(tag, _), _) = self.active.first_key_value()?;
        let mut now = self.now;
        let mut attained = self.attained;
        loop {
            let rate = self.rate_at(now);
            let finish = now + ((tag.0 - attained) / rate).max(0.0);
            match self.next_step_after(now) {
                Some(step) if step < finish => {
                    attained += (step - now) * rate;
                    now = step;
                }
                _ => return Some(finish),
            }
        }
    }

    fn rate(&self) -> f64 {
        self.rate_at(self.now)
    }

    /// Each active call's rate at model time `t`, the host's speed included.
    fn rate_at(&self, t: f64) -> f64 {
        call_rate(self.active.len(), self.capacity.at(t), self.penalty.at(t)) * self.speed.at(t)
    }

    fn next_step_after(&self, t: f64) -> Option<f64> {
        [&self.capacity, &self.penalty, &self.speed]
            .into_iter()
            .filter_map(|s| s.next_step_after(t))
            .reduce(f64::min)
    }

    fn segment_end(&self, to: f64) -> f64 {
        self.next_step_after(self.now).map_or(to, |s| s.min(to))
    }

    fn progress_to(&mut self, to: f64) {
        while self.now < to {
            let end = self.segment_end(to);
            if !self.active.is_empty() {
                self.attained += (end - self.now) * self.rate();
            }
            self.now = end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ps(c: f64, p: f64) -> ProcessorSharing<()> {
        ProcessorSharing::new(Schedule::constant(c), Schedule::constant(p))
    }

    #[test]
    fn a_stall_slows_every_call_in_service() {
        // A call of 10 ms; the host runs at a quarter speed from 2 ms to 6 ms: 2 ms of work
        // before, 1 ms during, the other 7 ms after, so it is done at 13 ms.
        let speed = Schedule::steps(vec![(0.0, 1.0), (0.002, 0.25), (0.006, 1.0)]).unwrap();
        let mut ps = ps(1.0, 0.0).with_speed(speed);
        ps.arrive(0.0, 1, 0.010, ());
        assert!((ps.next_completion().unwrap() - 0.013).abs() < 1e-9);
        let done = ps.advance(0.020);
        assert_eq!(done.len(), 1);
        assert!((done[0].at - 0.013).abs() < 1e-9, "{}", done[0].at);
    }

    /// Keeps `n` calls of `work` s in flight (closed loop) for `horizon` s; returns completions/s.
    fn closed_loop_throughput(
        model: &mut ProcessorSharing<()>,
        n: usize,
        work: f64,
        horizon: f64,
    ) -> f64 {
        let mut id = 0;
        for _ in 0..n {
            model.arrive(0.0, id, work, ());
            id += 1;
        }
        let mut completed = 0usize;
        while let Some(t) = model.next_completion() {
            if t > horizon {
                break;
            }
            for c in model.advance(t) {
                completed += 1;
                model.arrive(c.at, id, work, ());
                id += 1;
            }
        }
        completed as f64 / horizon
    }

    #[test]
    fn at_capacity_throughput_is_capacity_over_service_time() {
        let mut m = ps(32.0, 0.5);
        let x = closed_loop_throughput(&mut m, 32, 0.005, 10.0);
        assert!(
            (x - 32.0 / 0.005).abs() / (32.0 / 0.005) < 0.01,
            "throughput {x}"
        );
    }

    #[test]
    fn twice_capacity_loses_throughput_to_the_penalty() {
        let mut m = ps(32.0, 0.5);
        let x = closed_loop_throughput(&mut m, 64, 0.005, 10.0);
        // 64 calls at rate 0.5/1.5 each: 64/3 full-speed calls' worth
        let expected = 64.0 / 3.0 / 0.005;
        assert!(
            (x - expected).abs() / expected < 0.01,
            "throughput {x}, expected {expected}"
        );
        assert!(x < 32.0 / 0.005 * 0.7);
    }

    #[test]
    fn below_capacity_every_call_runs_at_full_speed() {
        let mut m = ps(32.0, 0.5);
        m.arrive(0.0, 1, 0.004, ());
        m.arrive(0.001, 2, 0.004, ());
        let done = m.advance(1.0);
        assert_eq!(done.len(), 2);
        assert!((done[0].at - 0.004).abs() < 1e-9);
        assert!((done[1].at - 0.005).abs() < 1e-9);
    }

    #[test]
    fn a_departure_speeds_up_the_remaining_calls() {
        // capacity 1: two calls share it; the short one leaves, the long one speeds up
        let mut m = ps(1.0, 0.0);
        m.arrive(0.0, 1, 0.002, ());
        m.arrive(0.0, 2, 0.004, ());
        let done = m.advance(1.0);
        // short: 2 ms of work at half speed = 4 ms; long: 2 ms left at full speed = 6 ms
        assert!((done[0].at - 0.004).abs() < 1e-9, "{:?}", done[0]);
        assert!((done[1].at - 0.006).abs() < 1e-9, "{:?}", done[1]);
    }

    #[test]
    fn capacity_step_changes_the_rate_mid_call() {
        let cap = Schedule::steps(vec![(0.0, 1.0), (0.003, 2.0)]).unwrap();
        let mut m: ProcessorSharing<()> = ProcessorSharing::new(cap, Schedule::constant(0.0));
        m.arrive(0.0, 1, 0.004, ());
        m.arrive(0.0, 2, 0.004, ());
        // 0..3 ms at half speed: 1.5 ms done each; then full speed: 2.5 ms more
        assert!((m.next_completion().unwrap() - 0.0055).abs() < 1e-9);
        let done = m.advance(0.010);
        assert_eq!(done.len(), 2);
        assert!((done[1].at - 0.0055).abs() < 1e-9);
    }

    #[test]
    fn cancelled_call_frees_its_share() {
        let mut m = ps(1.0, 0.0);
        m.arrive(0.0, 1, 0.004, ());
        m.arrive(0.0, 2, 0.004, ());
        m.cancel(0.002, 2);
        // 1 ms done by t=2 ms, 3 ms left at full speed
        assert_eq!(m.in_flight(), 1);
        let done = m.advance(1.0);
        assert!((done[0].at - 0.005).abs() < 1e-9);
    }
}
