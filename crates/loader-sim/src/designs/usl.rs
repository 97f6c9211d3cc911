//! `usl`: a design compared with the law by measurement, not the product's strategy.
//!
//! Issue 17 names fitting the throughput-against-concurrency curve online as a design worth
//! comparing: the Universal Scalability Law
//!
//! ```text
//! X(N) = λN / (1 + σ(N - 1) + κN(N - 1)),   peak at N* = sqrt((1 - σ) / κ)
//! ```
//!
//! fitted to the engine's own windows, the limit at the fitted peak, and exploration that
//! shrinks as the fit firms up. This strategy is that design, written as plainly as the law
//! so that the two can be compared on the same generated scenarios
//! (`loader-sim eval --strategy adaptive,usl`):
//!
//! - **Windows** as the law's, at its default `window_calls` and `window_rtts`
//!   (`designs/window.rs`): every call dispatched under one limit, measured once all are
//!   back. A window gives a point: the mean calls in flight `N` and the goodput `X` (good
//!   loads per second, by Little's law from the calls).
//! - **Fit**: `N / X = a + b(N - 1) + cN(N - 1)` is linear in `a = 1/λ`, `b = σ/λ`,
//!   `c = κ/λ`; weighted least squares over the points, each window's weight decaying by
//!   `memory` (old conditions are forgotten). The peak is `N* = sqrt((a - b) / c)`; with no
//!   retrograde term (`c ≤ 0`), or too few distinct points to fit, the curve has no peak
//!   in sight and the centre moves up.
//! - **Dither**: the limit alternates `centre × (1 ± d)`, so the points spread enough to fit;
//!   `d` is the fit's relative residual, between `min_dither` and `max_dither`. The centre
//!   moves to `N*`, by at most a factor `1 + max_dither` per window.

use loader_core::limit::StrategyConfig;

use super::window::Design;

/// The design's constants (`usl[NAME=VALUE]` in the simulator).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UslTuning {
    /// Weight kept by the older points at each new window. By default, this is `0.8`.
    pub memory: f64,
    /// The smallest dither, relative to the centre. By default, this is `0.05`.
    pub min_dither: f64,
    /// The largest dither, and the largest move of the centre per window. By default, this
    /// is `0.25`.
    pub max_dither: f64,
}

impl Default for UslTuning {
    fn default() -> Self {
        Self {
            memory: 0.8,
            min_dither: 0.05,
            max_dither: 0.25,
        }
    }
}

/// Exponentially weighted sums for the least squares of `y = a + b·u + c·v`.
#[derive(Debug, Clone, Copy, Default)]
struct Fit {
    /// Σw·[1, u, v]ᵀ[1, u, v], upper triangle: 11, 12, 13, 22, 23, 33.
    m: [f64; 6],
    /// Σw·y·[1, u, v].
    r: [f64; 3],
    /// Σw·y², Σw (for the residual).
    yy: f64,
    w: f64,
}

impl Fit {
    fn decay(&mut self, memory: f64) {
        self.m.iter_mut().for_each(|x| *x *= memory);
        self.r.iter_mut().for_each(|x| *x *= memory);
        self.yy *= memory;
        self.w *= memory;
    }

    /// Adds the point `(n, x)`: `n` calls in flight served `x` loads per second.
    fn add(&mut self, n: f64, x: f64) {
        let (u, v, y) = (n - 1.0, n * (n - 1.0), n / x);
        let f = [1.0, u, v];
        let mut k = 0;
        for i in 0..3 {
            for j in i..3 {
                self.m[k] += f[i] * f[j];
                k += 1;
            }
            self.r[i] += y * f[i];
        }
        self.yy += y * y;
        self.w += 1.0;
    }

    /// `(a, b, c)` and the relative residual, if the points determine them.
    fn solve(&self) -> Option<([f64; 3], f64)> {
        let [m11, m12, m13, m22, m23, m33] = self.m;
        let a = [[m11, m12, m13], [m12, m22, m23], [m13, m23, m33]];
        let det = |a: &[[f64; 3]; 3]| {
            a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1])
                - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
                + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0])
        };
        let d = det(&a);
        let scale = m11 * m22 * m33;
        // NaN sums (a point at zero goodput is never added) fail this test too.
        if self.w < 3.0
            || d.abs().partial_cmp(&(1e-9 * scale.abs())) != Some(std::cmp::Ordering::Greater)
        {
            return None;
        }
        let mut coef = [0.0; 3];
        for (i, c) in coef.iter_mut().enumerate() {
            let mut ai = a;
            for (row, r) in ai.iter_mut().zip(self.r) {
                row[i] = r;
            }
            *c = det(&ai) / d;
        }
        // Σw(y - ŷ)² = Σwy² - coefᵀr at the least-squares solution.
        let sse = (self.yy - coef.iter().zip(self.r).map(|(c, r)| c * r).sum::<f64>()).max(0.0);
        let mean = self.r[0] / self.w;
        Some((coef, (sse / self.w).sqrt() / mean.abs().max(1e-12)))
    }
}

/// The USL design (see the module's docs), run as `Windowed<Usl>`.
#[derive(Debug, Clone)]
pub struct Usl {
    config: StrategyConfig,
    tuning: UslTuning,
    limit: usize,
    centre: f64,
    dither: f64,
    up: bool,
    fit: Fit,
    reason: &'static str,
}

impl Design for Usl {
    const NAME: &'static str = "usl";
    type Tuning = UslTuning;

    fn new(config: StrategyConfig, tuning: UslTuning) -> Self {
        let limit = config.clamp(config.initial_concurrency);
        Self {
            config,
            tuning,
            limit,
            centre: limit as f64,
            dither: tuning.max_dither,
            up: true,
            fit: Fit::default(),
            reason: "initial limit",
        }
    }

    fn limit(&self) -> usize {
        self.limit
    }

    fn reason(&self) -> &'static str {
        self.reason
    }

    fn on_point(&mut self, n: f64, x: f64) {
        let t = self.tuning;
        self.fit.decay(t.memory);
        if x > 0.0 && n > 0.0 {
            self.fit.add(n, x);
        }
        let most = 1.0 + t.max_dither;
        let target = match self.fit.solve() {
            Some(([a, b, c], resid)) => {
                self.dither = resid.clamp(t.min_dither, t.max_dither);
                if c <= 0.0 {
                    self.reason = "no peak in sight: up";
                    self.centre * most
                } else {
                    self.reason = "at the fitted peak";
                    ((a - b).max(0.0) / c).sqrt().max(1.0)
                }
            }
            None => {
                self.reason = "too few points: up";
                self.centre * most
            }
        };
        let max = self.config.max_concurrency as f64;
        let min = self.config.min_concurrency as f64;
        self.centre = target
            .clamp(self.centre / most, self.centre * most)
            .clamp(min, max);
        self.up = !self.up;
        let d = if self.up { self.dither } else { -self.dither };
        let mut limit = (self.centre * (1.0 + d)).round() as usize;
        // At least one step either way, so the points spread even at small limits.
        let centre = self.centre.round() as usize;
        if limit == centre {
            limit = if self.up {
                centre + 1
            } else {
                centre.saturating_sub(1)
            };
        }
        self.limit = self.config.clamp(limit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Points on an exact USL curve give back its peak.
    #[test]
    fn the_fit_finds_the_peak_of_an_exact_curve() {
        let (lambda, sigma, kappa) = (100.0, 0.05, 0.002);
        let x = |n: f64| lambda * n / (1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0));
        let mut fit = Fit::default();
        for n in [4.0, 10.0, 18.0, 25.0, 40.0] {
            fit.add(n, x(n));
        }
        let ([a, b, c], resid) = fit.solve().expect("five distinct points determine it");
        let peak = ((a - b) / c).sqrt();
        let expected = ((1.0 - sigma) / kappa).sqrt();
        assert!((peak - expected).abs() < 1e-6, "{peak} vs {expected}");
        assert!(resid < 1e-6, "{resid}");
    }

    /// Points at one concurrency determine nothing.
    #[test]
    fn one_concurrency_is_not_a_fit() {
        let mut fit = Fit::default();
        for _ in 0..10 {
            fit.add(8.0, 1000.0);
        }
        assert!(fit.solve().is_none());
    }
}
