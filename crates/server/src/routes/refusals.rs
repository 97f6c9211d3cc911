//! `REFUSALS`: requests refused at the door, logged as one line per second at most.
//!
//! Under overload the door may refuse thousands of requests a second. A log line each would
//! make the log grow faster than the work done, so refusals are counted (the
//! `loader_requests_refused_total` metric has them all) and logged as one summary line per
//! [`PERIOD`] at most: how many were refused since the last line, and the last reason.

use std::{
    sync::{
        OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use crate::error::AppError;

/// At most one log line per this period.
pub const PERIOD: Duration = Duration::from_secs(1);

/// The process's refusal log.
pub static REFUSALS: RefusalLog = RefusalLog::new();

/// Counts refusals and logs a summary line per [`PERIOD`] at most.
#[derive(Debug)]
pub struct RefusalLog {
    /// Refusals not yet logged.
    pending: AtomicU64,
    /// When the last line was written, ms since `origin` (+1, so 0 means never).
    last_line_ms: AtomicU64,
    origin: OnceLock<Instant>,
}

impl RefusalLog {
    /// An empty log.
    pub const fn new() -> Self {
        Self {
            pending: AtomicU64::new(0),
            last_line_ms: AtomicU64::new(0),
            origin: OnceLock::new(),
        }
    }

    /// Counts one refusal; returns the number of refusals the line written now summarises,
    /// if one is written.
    pub fn note(&self, error: &AppError) -> Option<u64> {
        self.pending.fetch_add(1, Ordering::Relaxed);
        let origin = *self.origin.get_or_init(Instant::now);
        let now_ms = origin.elapsed().as_millis() as u64 + 1;
        let last = self.last_line_ms.load(Ordering::Relaxed);
        let due = last == 0 || now_ms.saturating_sub(last) >= PERIOD.as_millis() as u64;
        if !due
            || self
                .last_line_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return None;
        }
        let refused = self.pending.swap(0, Ordering::Relaxed);
        tracing::warn!(
            refused,
            last = %error,
            "requests refused at the door (503 OVERLOADED, nothing ran); at most one such line per second"
        );
        Some(refused)
    }
}

impl Default for RefusalLog {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_storm_of_refusals_is_one_line_with_its_count() {
        let log = RefusalLog::new();
        let error = AppError::Timeout;
        assert_eq!(log.note(&error), Some(1), "the first refusal is logged");
        let lines = (0..10_000).filter_map(|_| log.note(&error)).count();
        assert_eq!(lines, 0, "no second line within the period");
        assert_eq!(log.pending.load(Ordering::Relaxed), 10_000);
    }
}
