//! `CostModel`: what one batch call of a group costs, learned online, and the batch size that
//! follows from it.
//!
//! A batch call of `n` keys is modelled as `fixed + per_key * n` (round trip and query
//! planning, plus rows). Both terms come from an exponentially weighted least-squares fit over
//! the successful calls (older calls fade, so the model follows a changing downstream). The
//! target batch size is the largest `n` whose predicted time stays within
//! `target_response_time`, capped by `max_batch_size`: larger batches amortise the fixed cost
//! (more keys per second) until a single call gets too slow. Where the fixed cost alone takes
//! more than half the target, the keys still get as long as the fixed cost (up to the
//! target), so such calls take up to twice the target rather than carrying a key or two.

use std::time::Duration;

use crate::metrics::CostEstimate;

/// Weight kept by the past at each new sample (≈ the last 50 calls matter).
const DECAY: f64 = 0.98;
/// Calls needed before the fitted line (fixed + per-key) sets the target.
const MIN_SAMPLES: u64 = 3;
/// Standard errors by which a fitted per-key cost must exceed zero to be trusted (else the
/// sizes spread further before it sets the batch size).
const SLOPE_Z: f64 = 2.0;

/// Online fit of `rtt_ms = fixed_ms + per_key_ms * n`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct CostModel {
    // Exponentially weighted sums.
    w: f64,
    sx: f64,
    sy: f64,
    sxx: f64,
    sxy: f64,
    syy: f64,
    samples: u64,
}

impl CostModel {
    /// A model seeded from a learned estimate, weighted as if it came from a few calls so new
    /// observations can correct it quickly.
    pub(crate) fn from_estimate(estimate: &CostEstimate) -> Self {
        let mut model = Self::default();
        if estimate.samples == 0 {
            return model;
        }
        // Two synthetic points on the learned line (n = 1 and n = 10) pin both terms.
        let weight = (estimate.samples.min(10)) as f64 / 2.0;
        for n in [1.0, 10.0] {
            let y = estimate.fixed_ms + estimate.per_key_ms * n;
            model.w += weight;
            model.sx += weight * n;
            model.sy += weight * y;
            model.sxx += weight * n * n;
            model.sxy += weight * n * y;
            model.syy += weight * y * y;
        }
        model.samples = estimate.samples;
        model
    }

    /// Adds one successful call of `keys` keys that took `rtt`.
    pub(crate) fn observe(&mut self, keys: usize, rtt: Duration) {
        let x = keys as f64;
        let y = rtt.as_secs_f64() * 1e3;
        self.w = self.w * DECAY + 1.0;
        self.sx = self.sx * DECAY + x;
        self.sy = self.sy * DECAY + y;
        self.sxx = self.sxx * DECAY + x * x;
        self.sxy = self.sxy * DECAY + x * y;
        self.syy = self.syy * DECAY + y * y;
        self.samples += 1;
    }

    /// The current estimate of both terms (zeros before the first call).
    pub(crate) fn estimate(&self) -> CostEstimate {
        if self.w <= 0.0 {
            return CostEstimate::default();
        }
        let mean_x = self.sx / self.w;
        let mean_y = self.sy / self.w;
        let var_x = self.sxx / self.w - mean_x * mean_x;
        let cov = self.sxy / self.w - mean_x * mean_y;
        let (fixed, per_key) = if var_x > 1e-9 * mean_x.max(1.0).powi(2) {
            let slope = (cov / var_x).max(0.0);
            let fixed = mean_y - slope * mean_x;
            if fixed < 0.0 {
                // The line through the origin: all cost is per key.
                (0.0, mean_y / mean_x.max(1.0))
            } else {
                (fixed, slope)
            }
        } else {
            // Every call had the same size: the split is unknown. Attributing it all to the
            // fixed cost lets batches grow, and the varied sizes that follow reveal the slope.
            (mean_y, 0.0)
        };
        CostEstimate {
            fixed_ms: fixed,
            per_key_ms: per_key,
            samples: self.samples,
        }
    }

    /// Whether the calls seen had different sizes (so the line's slope can be fitted).
    fn sizes_varied(&self) -> bool {
        let mean_x = self.sx / self.w;
        let var_x = self.sxx / self.w - mean_x * mean_x;
        var_x > 1e-9 * mean_x.max(1.0).powi(2)
    }

    /// Largest batch size predicted to finish within `target`, in `1..=max`.
    pub(crate) fn target_batch_size(&self, target: Duration, max: usize) -> usize {
        if self.samples == 0 {
            return max;
        }
        let target_ms = target.as_secs_f64() * 1e3;
        if self.samples < MIN_SAMPLES || !self.sizes_varied() {
            // The split between fixed and per-key cost is unknown (too few calls, or every
            // call had the same size). Charging the whole mean cost to the keys is an upper
            // bound of the per-key cost, so the size it gives is safely within the target; a
            // cold engine learns from its very first call instead of running maximal batches
            // until timing noise happens to vary their sizes (seconds, in the simulator).
            // Cheap keys (a lone request's level on a fast database) still get `max`: one
            // statement per level.
            let mean_ms_per_key = self.sy / self.sx.max(f64::MIN_POSITIVE);
            if mean_ms_per_key <= f64::EPSILON {
                return max;
            }
            let n = (target_ms / mean_ms_per_key + 1e-6).floor();
            let n = if n >= max as f64 {
                max
            } else {
                (n as usize).clamp(1, max)
            };
            // If that bound is the size already seen, every later call would have that size
            // and the split would never be learned: a round trip longer than the target
            // charged to one key keeps a downstream at one key per call forever. Then the
            // next batch may be twice as large, once, so the line gets a second point.
            let seen = (self.sx / self.w).round().max(1.0) as usize;
            return if n == seen { (2 * seen).min(max) } else { n };
        }
        let est = self.estimate();
        if est.per_key_ms <= f64::EPSILON {
            return max;
        }
        // The keys get what the fixed cost leaves of the target, but never less time than
        // the fixed cost itself (up to the target): a call is worth its round trip. Where the
        // fixed cost approaches the target, `target - fixed` alone would fall to nothing and
        // seal every batch at one key (a tenth of the throughput of a few dozen), and where
        // it exceeds the target, the target cannot be met anyway. So calls take up to twice
        // the target there, and the size is continuous in the fixed cost.
        let budget = (target_ms - est.fixed_ms).max(est.fixed_ms.min(target_ms));
        // The epsilon keeps an exact fit (e.g. 80.0 computed as 79.999…) from losing a key.
        let n = (budget / est.per_key_ms + 1e-6).floor();
        let n = if n >= max as f64 {
            max
        } else {
            (n as usize).clamp(1, max)
        };
        // A slope the calls cannot tell from their jitter (sizes too close together) is no
        // reason to stay small: calls of the sizes already seen teach nothing new, and a
        // jittery downstream whose fixed cost exceeds the target would stay at one key per
        // call. Then the next batch may be twice the usual size, so the sizes spread until
        // the slope is measured.
        let seen = (self.sx / self.w).round().max(1.0) as usize;
        if n <= seen && !self.slope_measured() {
            (2 * seen).min(max)
        } else {
            n
        }
    }

    /// Whether the fitted per-key cost stands out of the calls' jitter: the slope exceeds
    /// `SLOPE_Z` times its standard error.
    fn slope_measured(&self) -> bool {
        if self.w <= 2.0 {
            return false;
        }
        let mean_x = self.sx / self.w;
        let mean_y = self.sy / self.w;
        let var_x = self.sxx / self.w - mean_x * mean_x;
        let var_y = self.syy / self.w - mean_y * mean_y;
        let cov = self.sxy / self.w - mean_x * mean_y;
        if var_x <= 1e-9 * mean_x.max(1.0).powi(2) {
            return false;
        }
        let slope = cov / var_x;
        let residual = (var_y - slope * cov).max(0.0) * self.w / (self.w - 2.0);
        let standard_error = (residual / (self.w * var_x)).sqrt();
        slope > SLOPE_Z * standard_error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: f64) -> Duration {
        Duration::from_secs_f64(v / 1e3)
    }

    #[test]
    fn a_round_trip_longer_than_the_target_does_not_lock_batches_at_one_key() {
        let target = ms(25.0);
        let mut model = CostModel::default();
        // A 30 ms round trip, almost all of it fixed: the first call had one key.
        model.observe(1, ms(30.0));
        let next = model.target_batch_size(target, 1000);
        assert_eq!(next, 2, "a second size is tried");
        model.observe(next, ms(30.1));
        model.observe(1, ms(30.0));
        let size = model.target_batch_size(target, 1000);
        assert!(
            size > 100,
            "the fixed cost is learned, batches grow: {size}"
        );
    }

    /// Calls of `fixed + per_key × n` ms with uniform jitter of ±`jitter`, each batch of the
    /// size the model chose after the previous call; the sizes of the last `keep` calls.
    fn sizes_chosen(fixed: f64, per_key: f64, jitter: f64, seed: u64, keep: usize) -> Vec<usize> {
        let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let mut uniform = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut model = CostModel::default();
        let mut size = 1;
        let mut sizes = Vec::new();
        for _ in 0..600 {
            let rtt = (fixed + per_key * size as f64) * (1.0 + jitter * (2.0 * uniform() - 1.0));
            model.observe(size, ms(rtt));
            size = model.target_batch_size(ms(25.0), 1000);
            sizes.push(size);
        }
        sizes.split_off(sizes.len() - keep)
    }

    /// The median of the last 300 sizes `sizes_chosen` picks.
    fn median_size(fixed_ms: f64, per_key_ms: f64, jitter: f64, seed: u64) -> usize {
        let mut sizes = sizes_chosen(fixed_ms, per_key_ms, jitter, seed, 300);
        sizes.sort_unstable();
        sizes[sizes.len() / 2]
    }

    #[test]
    fn a_jittery_round_trip_longer_than_the_target_does_not_lock_batches_small() {
        // 26.65 ms fixed + 0.266 ms per key, ±18.6%: the target (25 ms) cannot be met, so
        // the per-key part should fill it: about 94 keys. The slope between sizes 1 and 2 is
        // lost in the jitter; before the sizes spread, some seeds stayed at 1 key per call.
        for seed in 0..40 {
            let median = median_size(26.65, 0.266, 0.186, seed);
            assert!(median >= 47, "seed {seed}: median batch {median} keys");
        }
    }

    #[test]
    fn a_clear_slope_still_sets_the_size() {
        // 2 ms + 0.5 ms per key, ±30%: 46 keys fit in 25 ms; the spread must not push past it.
        for seed in 0..10 {
            let median = median_size(2.0, 0.5, 0.3, seed);
            assert!(
                (40..=52).contains(&median),
                "seed {seed}: median batch {median} keys"
            );
        }
    }

    #[test]
    fn learns_fixed_and_per_key_cost_from_varied_batches() {
        let mut model = CostModel::default();
        for n in [1usize, 10, 50, 100, 5, 200, 30] {
            model.observe(n, ms(2.0 + 0.1 * n as f64));
        }
        let est = model.estimate();
        assert!((est.fixed_ms - 2.0).abs() < 0.01, "{est:?}");
        assert!((est.per_key_ms - 0.1).abs() < 0.001, "{est:?}");
        assert_eq!(est.samples, 7);
    }

    #[test]
    fn target_size_keeps_the_predicted_call_within_the_target() {
        let mut model = CostModel::default();
        for n in [1usize, 10, 50, 100] {
            model.observe(n, ms(5.0 + 0.2 * n as f64));
        }
        // (25 - 5) / 0.2 = 100 keys
        assert_eq!(
            model.target_batch_size(Duration::from_millis(25), 1000),
            100
        );
        assert_eq!(model.target_batch_size(Duration::from_millis(25), 40), 40);
    }

    #[test]
    fn unknown_cost_allows_the_maximum() {
        let model = CostModel::default();
        assert_eq!(model.target_batch_size(Duration::from_millis(25), 500), 500);
    }

    #[test]
    fn one_call_bounds_the_size_by_charging_its_whole_cost_to_the_keys() {
        let mut model = CostModel::default();
        // 1000 keys in 104 ms: at most 0.104 ms per key, so 240 keys fit in 25 ms.
        model.observe(1000, ms(104.0));
        assert_eq!(
            model.target_batch_size(Duration::from_millis(25), 1000),
            240
        );
        // Cheap keys: the bound is above the maximum.
        let mut cheap = CostModel::default();
        cheap.observe(500, ms(2.0));
        assert_eq!(
            cheap.target_batch_size(Duration::from_millis(25), 1000),
            1000
        );
    }

    #[test]
    fn calls_of_one_size_keep_the_safe_bound_until_sizes_vary() {
        let mut model = CostModel::default();
        for _ in 0..10 {
            model.observe(8, ms(3.0));
        }
        // 3 ms / 8 keys = 0.375 ms per key at most: 66 keys within 25 ms.
        assert_eq!(model.target_batch_size(Duration::from_millis(25), 500), 66);
        for n in [1usize, 50, 100] {
            model.observe(n, ms(3.0 + 0.01 * n as f64));
        }
        assert!(model.target_batch_size(Duration::from_millis(25), 500) > 66);
    }

    #[test]
    fn a_fixed_cost_above_the_target_still_batches() {
        let mut model = CostModel::default();
        for n in [1usize, 10, 100] {
            model.observe(n, ms(40.0 + 0.5 * n as f64));
        }
        let n = model.target_batch_size(Duration::from_millis(25), 1000);
        assert_eq!(n, 50);
    }

    #[test]
    fn the_size_does_not_collapse_as_the_fixed_cost_nears_the_target() {
        // Fixed costs just under, at and just over the 25 ms target, 0.3 ms per key: the keys
        // get as long as the fixed cost, so about 80 keys each time (not 1 key just under).
        for fixed in [24.8, 25.0, 25.2] {
            let mut model = CostModel::default();
            for n in [1usize, 10, 100] {
                model.observe(n, ms(fixed + 0.3 * n as f64));
            }
            let n = model.target_batch_size(Duration::from_millis(25), 1000);
            assert!((80..=84).contains(&n), "fixed {fixed} ms: {n} keys");
        }
        // Well under half the target, the keys get what the fixed cost leaves: (25 - 5) / 0.2.
        let mut model = CostModel::default();
        for n in [1usize, 10, 100] {
            model.observe(n, ms(5.0 + 0.2 * n as f64));
        }
        assert_eq!(
            model.target_batch_size(Duration::from_millis(25), 1000),
            100
        );
    }

    #[test]
    fn a_model_restored_from_an_estimate_predicts_the_same_sizes() {
        let mut model = CostModel::default();
        for n in [1usize, 10, 50, 100] {
            model.observe(n, ms(5.0 + 0.2 * n as f64));
        }
        let restored = CostModel::from_estimate(&model.estimate());
        assert_eq!(
            restored.target_batch_size(Duration::from_millis(25), 1000),
            model.target_batch_size(Duration::from_millis(25), 1000)
        );
    }

    #[test]
    fn the_model_follows_a_downstream_that_got_slower() {
        let mut model = CostModel::default();
        for i in 0..100 {
            let n = 1 + (i % 20) * 5;
            model.observe(n, ms(1.0 + 0.05 * n as f64));
        }
        for i in 0..300 {
            let n = 1 + (i % 20) * 5;
            model.observe(n, ms(1.0 + 0.5 * n as f64));
        }
        let est = model.estimate();
        assert!((est.per_key_ms - 0.5).abs() < 0.05, "{est:?}");
    }
}
