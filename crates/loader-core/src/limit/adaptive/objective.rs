//! What the adaptive controller maximises: requests served per second when the engine's
//! callers admit requests ([`Engine::admit_request`](crate::Engine::admit_request)), keys
//! answered per second otherwise.
//!
//! Keys per second stand for requests per second only while every request costs the same
//! keys, and they do not: under more concurrency a batch is sealed smaller (`spread.rs`),
//! so the keys of one request level that one call would have loaded once are split over
//! several calls, and keys shared by two requests are loaded twice. On a server measured in
//! the scale-out benchmark a request cost 36 keys at one permit per replica and 52 at eight:
//! keys per second fell 12% between four and eight permits where requests per second fell
//! 28%, so a controller judging by keys settled above the best limit. Requests ended per
//! second over the same window have no such bias.

use super::window::{RequestRate, WindowStats};

/// One side of a comparison: keys per second with its relative standard error, and the
/// request rate when it was measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Goodput {
    pub(super) keys: f64,
    pub(super) keys_se: f64,
    pub(super) requests: Option<RequestRate>,
}

impl Goodput {
    pub(super) fn of(stats: &WindowStats) -> Self {
        Self {
            keys: stats.goodput,
            keys_se: stats.se,
            requests: stats.requests,
        }
    }

    /// The ratio `self / base` and the relative standard errors of the two sides: by requests
    /// served when both sides measured them, by keys otherwise (the two rates are in
    /// different units and are never mixed).
    pub(super) fn versus(&self, base: &Goodput) -> Comparison {
        match (self.requests, base.requests) {
            (Some(here), Some(there)) => Comparison {
                ratio: here.per_s / there.per_s.max(1e-9),
                se: here.se,
                base_se: there.se,
            },
            _ => Comparison {
                ratio: self.keys / base.keys.max(1e-9),
                se: self.keys_se,
                base_se: base.keys_se,
            },
        }
    }

    /// Moves this (a reference) towards `window` by `alpha`, as an exponentially weighted
    /// mean of both rates; a rate only one side has is taken as it is.
    pub(super) fn smooth(&mut self, window: &Goodput, alpha: f64) {
        let blend_se = |a: f64, b: f64| {
            ((1.0 - alpha) * (1.0 - alpha) * a * a + alpha * alpha * b * b)
                .sqrt()
                .max(0.005)
        };
        self.keys += alpha * (window.keys - self.keys);
        self.keys_se = blend_se(self.keys_se, window.keys_se);
        self.requests = match (self.requests, window.requests) {
            (Some(here), Some(new)) => Some(RequestRate {
                per_s: here.per_s + alpha * (new.per_s - here.per_s),
                se: blend_se(here.se, new.se),
            }),
            (None, new) => new,
            (here, None) => here,
        };
    }
}

/// A goodput ratio and the relative standard errors it came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Comparison {
    pub(super) ratio: f64,
    pub(super) se: f64,
    pub(super) base_se: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn goodput(keys: f64, requests: Option<f64>) -> Goodput {
        Goodput {
            keys,
            keys_se: 0.02,
            requests: requests.map(|per_s| RequestRate { per_s, se: 0.04 }),
        }
    }

    #[test]
    fn requests_decide_when_both_sides_measured_them() {
        // More keys per second, fewer requests: each request cost more keys.
        let c = goodput(1100.0, Some(90.0)).versus(&goodput(1000.0, Some(100.0)));
        assert!((c.ratio - 0.9).abs() < 1e-12);
        assert_eq!((c.se, c.base_se), (0.04, 0.04));
        // One side without requests: keys, never a ratio of two units.
        let c = goodput(1100.0, None).versus(&goodput(1000.0, Some(100.0)));
        assert!((c.ratio - 1.1).abs() < 1e-12);
        assert_eq!((c.se, c.base_se), (0.02, 0.02));
    }

    #[test]
    fn smoothing_blends_both_rates_and_keeps_a_missing_one() {
        let mut reference = goodput(1000.0, None);
        reference.smooth(&goodput(2000.0, Some(100.0)), 0.5);
        assert_eq!(reference.keys, 1500.0);
        assert_eq!(reference.requests.map(|r| r.per_s), Some(100.0));
        reference.smooth(&goodput(1500.0, Some(200.0)), 0.5);
        assert_eq!(reference.requests.map(|r| r.per_s), Some(150.0));
        reference.smooth(&goodput(1500.0, None), 0.5);
        assert_eq!(reference.requests.map(|r| r.per_s), Some(150.0));
        assert!(reference.keys_se < 0.02);
    }
}
