//! The law's windows, for the compared designs: every call dispatched under one limit, at
//! least `calls` calls over at least `rtts` mean latencies, measured once all are back
//! (`Sample::seq`, `Sample::granted`, `Sample::done_below`). Each gives a point: the mean
//! calls in flight and the goodput (good loads per second, by Little's law from the calls).
//! [`Windowed`] runs a [`Design`] on them as a strategy: the design sees only the points.

use loader_core::limit::{FleetView, Outcome, Sample, ScalingStrategy, StrategyConfig};

/// A design: a limit, moved by each window's point.
pub trait Design: Sized {
    /// Its name in the simulator.
    const NAME: &'static str;
    /// Its constants.
    type Tuning: Copy;
    /// Starts at `config.initial_concurrency`.
    fn new(config: StrategyConfig, tuning: Self::Tuning) -> Self;
    /// The limit to run under.
    fn limit(&self) -> usize;
    /// One window under [`Design::limit`]: its mean calls in flight and its goodput.
    fn on_point(&mut self, in_flight: f64, goodput: f64);
    /// Why the limit is what it is.
    fn reason(&self) -> &'static str;
}

/// A [`Design`] run as a [`ScalingStrategy`]: each window's point goes to it, and a new
/// window starts with the next call.
#[derive(Debug, Clone)]
pub struct Windowed<D: Design> {
    design: D,
    config: StrategyConfig,
    tuning: D::Tuning,
    size: WindowSize,
    windows: Windows,
}

impl<D: Design> Windowed<D> {
    /// `D` started at `config.initial_concurrency`.
    pub fn new(config: StrategyConfig, tuning: D::Tuning) -> Self {
        Self {
            design: D::new(config, tuning),
            config,
            tuning,
            size: WindowSize::law(),
            windows: Windows::default(),
        }
    }
}

impl<D: Design + Send + Sync + 'static> ScalingStrategy for Windowed<D>
where
    D::Tuning: Send + Sync,
{
    fn name(&self) -> &'static str {
        D::NAME
    }

    fn limit(&self) -> usize {
        self.design.limit()
    }

    fn on_sample(&mut self, s: &Sample) -> usize {
        if let Some((n, x)) = self.windows.on_sample(s, self.design.limit(), &self.size) {
            self.design.on_point(n, x);
            self.windows.restart();
        }
        self.design.limit()
    }

    fn reason(&self) -> &str {
        self.design.reason()
    }

    fn warm_start(&mut self, limit: usize) {
        *self = Self::new(
            StrategyConfig {
                initial_concurrency: limit,
                ..self.config
            },
            self.tuning,
        );
    }

    fn set_fleet(&mut self, _view: FleetView) {}
}

/// How long a window is, at least.
#[derive(Debug, Clone, Copy, PartialEq)]
struct WindowSize {
    /// Calls dispatched.
    calls: usize,
    /// Mean call latencies.
    rtts: f64,
}

impl WindowSize {
    /// The law's windows (its default `window_calls` and `window_rtts`): the designs are
    /// compared on the same measurements.
    fn law() -> Self {
        let law = loader_core::limit::Tuning::default();
        Self {
            calls: law.window_calls,
            rtts: law.window_rtts,
        }
    }
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
struct Windows {
    window: Window,
    next: Window,
    granted: u64,
    now: f64,
}

impl Windows {
    /// Adds `s`, a call under `limit` (calls under another limit are ignored); the point
    /// `(mean in flight, goodput)` of a window when `s` completes it.
    fn on_sample(&mut self, s: &Sample, limit: usize, size: &WindowSize) -> Option<(f64, f64)> {
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
    fn restart(&mut self) {
        self.window = Window::starting(self.granted, self.now);
        self.next = self.window;
    }
}
