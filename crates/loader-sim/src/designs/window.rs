//! The law's windows, for the compared designs: every call dispatched under one limit, at
//! least `calls` calls over at least `rtts` mean latencies, measured once all are back
//! (`Sample::seq`, `Sample::granted`, `Sample::done_below`). Each gives a point: the mean
//! calls in flight and the goodput (good loads per second, by Little's law from the calls).

use loader_core::limit::{Outcome, Sample};

/// How long a window is, at least.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowSize {
    /// Calls dispatched.
    pub calls: usize,
    /// Mean call latencies.
    pub rtts: f64,
}

/// The calls dispatched under one limit from `from` on.
#[derive(Debug, Clone, Copy, Default)]
struct Window {
    from: u64,
    to: Option<u64>,
    start: f64,
    calls: usize,
    in_flight: f64,
    rtt: f64,
    good_loads: f64,
}

impl Window {
    fn starting(from: u64, start: f64) -> Self {
        Self {
            from,
            start,
            ..Self::default()
        }
    }

    fn add(&mut self, s: &Sample) {
        self.calls += 1;
        self.in_flight += s.in_flight as f64;
        self.rtt += s.rtt.as_secs_f64();
        if s.outcome == Outcome::Success {
            self.good_loads += s.loads as f64;
        }
    }

    /// `(mean in flight, goodput)`.
    fn point(&self) -> Option<(f64, f64)> {
        (self.calls > 0 && self.rtt > 0.0).then(|| {
            let n = self.in_flight / self.calls as f64;
            (n, n * self.good_loads / self.rtt)
        })
    }
}

/// The window being filled, and the next one while it waits for its last calls.
#[derive(Debug, Clone, Copy, Default)]
pub struct Windows {
    window: Window,
    next: Window,
    granted: u64,
    now: f64,
}

impl Windows {
    /// Adds `s`, a call under `limit` (calls under another limit are ignored); the point
    /// `(mean in flight, goodput)` of a window when `s` completes it.
    pub fn on_sample(&mut self, s: &Sample, limit: usize, size: &WindowSize) -> Option<(f64, f64)> {
        self.granted = self.granted.max(s.granted);
        self.now = s.now.as_secs_f64();
        if s.limit != limit || s.seq < self.window.from {
            return None;
        }
        match self.window.to {
            Some(to) if s.seq >= to => self.next.add(s),
            _ => self.window.add(s),
        }
        let w = &self.window;
        if w.to.is_none()
            && w.calls > 0
            && self.granted.saturating_sub(w.from) >= size.calls as u64
            && self.now - w.start >= size.rtts * w.rtt / w.calls as f64
        {
            self.window.to = Some(self.granted);
            self.next = Window::starting(self.granted, self.now);
        }
        let to = self.window.to?;
        if s.done_below < to {
            return None;
        }
        let point = self.window.point();
        self.window = std::mem::take(&mut self.next);
        point
    }

    /// Starts a new window with the next call dispatched (after a change of the limit).
    pub fn restart(&mut self) {
        self.window = Window::starting(self.granted, self.now);
        self.next = self.window;
    }
}
