//! `extremum`: extremum seeking, a design compared with the law by measurement, not the
//! product's strategy.
//!
//! Issue 17 names it beside the fitted curve: a small dither of the limit and the
//! correlation of goodput with it. With a square-wave dither the correlation is a two-point
//! gradient: the limit alternates `centre × (1 ± d)` (at least ± 1), one window each, and
//! after each pair the centre moves along the goodput's elasticity
//!
//! ```text
//! E = (X+ - X-) / ((X+ + X-) / 2) / (2 d')      d' = the dither actually applied, relative
//! centre ← centre × exp(gain × E),  by at most a factor 1 + max_move
//! ```
//!
//! Below the knee goodput grows with the limit (`E` near 1) and the centre climbs; past it
//! goodput falls (`E < 0`) and it descends; at the peak `E` is 0 and only the noise moves
//! it. Windows are the law's (`designs/window.rs`).

use loader_core::limit::StrategyConfig;

use super::window::Design;

/// The design's constants (`extremum[NAME=VALUE]` in the simulator).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtremumTuning {
    /// The dither, relative to the centre (at least 1). By default, this is `0.1` (the
    /// law's probe step).
    pub dither: f64,
    /// The centre moves by `exp(gain × elasticity)` per pair of windows. By default, this
    /// is `0.25`.
    pub gain: f64,
    /// The largest move of the centre per pair, as a factor `1 + max_move`. By default,
    /// this is `0.25`.
    pub max_move: f64,
}

impl Default for ExtremumTuning {
    fn default() -> Self {
        Self {
            dither: 0.1,
            gain: 0.25,
            max_move: 0.25,
        }
    }
}

/// The extremum-seeking design (see the module's docs), run as `Windowed<Extremum>`.
#[derive(Debug, Clone)]
pub struct Extremum {
    config: StrategyConfig,
    tuning: ExtremumTuning,
    limit: usize,
    centre: f64,
    /// The goodput of the window above the centre, while the one below is measured.
    above: Option<(usize, f64)>,
    reason: &'static str,
}

impl Design for Extremum {
    const NAME: &'static str = "extremum";
    type Tuning = ExtremumTuning;

    fn new(config: StrategyConfig, tuning: ExtremumTuning) -> Self {
        let start = config.clamp(config.initial_concurrency);
        let mut s = Self {
            config,
            tuning,
            limit: start,
            centre: start as f64,
            above: None,
            reason: "initial limit",
        };
        s.limit = s.dithered(true);
        s
    }

    fn limit(&self) -> usize {
        self.limit
    }

    fn reason(&self) -> &'static str {
        self.reason
    }

    fn on_point(&mut self, _in_flight: f64, goodput: f64) {
        self.on_goodput(goodput);
    }
}

impl Extremum {
    /// The limit above (or below) the centre.
    fn dithered(&self, up: bool) -> usize {
        let centre = self.centre.round().max(1.0) as usize;
        let d = ((self.centre * self.tuning.dither).round() as usize).max(1);
        self.config.clamp(if up {
            centre + d
        } else {
            centre.saturating_sub(d)
        })
    }

    fn on_goodput(&mut self, x: f64) {
        match self.above.take() {
            None => {
                self.above = Some((self.limit, x));
                self.limit = self.dithered(false);
            }
            Some((high, above)) => {
                let low = self.limit;
                let mean = (above + x) / 2.0;
                if high > low && mean > 0.0 {
                    let rel = (high - low) as f64 / ((high + low) as f64 / 2.0);
                    let elasticity = (above - x) / mean / rel;
                    let most = (1.0 + self.tuning.max_move).ln();
                    let step = (self.tuning.gain * elasticity).clamp(-most, most);
                    let (min, max) = (
                        self.config.min_concurrency as f64,
                        self.config.max_concurrency as f64,
                    );
                    self.centre = (self.centre * step.exp()).clamp(min, max);
                    self.reason = if step > 0.0 {
                        "goodput rises with the limit: up"
                    } else {
                        "goodput falls with the limit: down"
                    };
                }
                self.limit = self.dithered(true);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strategy(centre: usize) -> Extremum {
        Extremum::new(
            StrategyConfig {
                initial_concurrency: centre,
                ..StrategyConfig::default()
            },
            ExtremumTuning::default(),
        )
    }

    /// Goodput that grows with the limit moves the centre up; goodput that falls moves it
    /// down; a flat one leaves it.
    #[test]
    fn the_centre_follows_the_goodput_gradient() {
        for (above, below, moves) in [(110.0, 90.0, 1), (90.0, 110.0, -1), (100.0, 100.0, 0)] {
            let mut s = strategy(20);
            assert_eq!(s.limit(), 22);
            s.on_goodput(above);
            assert_eq!(s.limit(), 18);
            s.on_goodput(below);
            let moved = s.centre - 20.0;
            assert_eq!(moved.abs() < 1e-9, moves == 0, "{moved}");
            if moves != 0 {
                assert_eq!(moved.signum() as i32, moves, "{moved}");
            }
        }
    }
}
