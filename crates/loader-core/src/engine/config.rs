//! [`LoaderConfig`]: every setting of the engine, with its default, written once.

use std::time::Duration;

use crate::{
    ConfigError,
    limit::{StrategyConfig, StrategyKind},
};

/// Every knob of the engine, with its default. [`EngineBuilder`](crate::EngineBuilder) sets
/// these one by one; this struct is also what a server deserialises from its configuration.
///
/// The defaults suit a SQL database behind a web server: start at 4 concurrent batch calls,
/// find the right limit between 1 and 256, keep batches under 25 ms, shed load that would
/// wait longer than 1 s.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct LoaderConfig {
    /// Lower bound of the concurrency limit. By default, this is `1`.
    pub min_concurrency: usize,
    /// Limit used before anything is learned. By default, this is `4`.
    pub initial_concurrency: usize,
    /// Upper bound of the concurrency limit. By default, this is `256`.
    pub max_concurrency: usize,
    /// The algorithm that moves the limit. By default, this is `adaptive`.
    pub scaling_strategy: StrategyKind,
    /// Window over which metrics (throughput, error rate, percentiles) are computed.
    /// By default, this is 10 s.
    #[serde(with = "duration_ms")]
    pub metrics_window: Duration,
    /// Longest time a batch stays open collecting keys. The window closes earlier as soon as
    /// keys stop arriving, so a lone request pays only a scheduler tick.
    /// By default, this is 200 µs.
    #[serde(with = "duration_us")]
    pub batch_delay: Duration,
    /// Upper bound of keys in one batch call. By default, this is `1000`.
    pub max_batch_size: usize,
    /// The adaptive batch size keeps one call's predicted time under this (where a call's
    /// fixed cost alone takes more than half of it, under twice the fixed cost instead: the
    /// keys get as long as the round trip, `batch/cost.rs`). By default, this is 25 ms.
    #[serde(with = "duration_ms")]
    pub target_response_time: Duration,
    /// Most standalone loads (of loaders outside a request admitted at the door) that may wait
    /// for a permit at once, all groups; beyond it they fail with
    /// [`LoadError::Overloaded`](crate::LoadError::Overloaded). The loads of admitted requests
    /// are never refused: the door bounds them (`max_requests`). By default, this is `10_000`.
    pub queue_capacity: usize,
    /// Most requests admitted at the door ([`Engine::admit_request`](crate::Engine::admit_request))
    /// in flight at once, whatever the door's law allows. The law never goes under 8 requests
    /// nor under the concurrency limit; a maximum under that wins. By default, this is `1024`.
    pub max_requests: usize,
    /// Most requests waiting at the door for a place at once; more are refused at once.
    /// By default, this is `1024`.
    pub max_requests_waiting: usize,
    /// A request that would wait longer than this at the door, or a standalone load for its
    /// batch, is refused with `Overloaded` (callers may pass a tighter deadline of their
    /// own). By default, this is 1 s.
    #[serde(with = "duration_ms")]
    pub max_queue_wait: Duration,
    /// A batch call running longer than this is cut and its keys fail with
    /// [`LoadError::Timeout`](crate::LoadError::Timeout). By default, this is 5 s.
    #[serde(with = "duration_ms")]
    pub batch_timeout: Duration,
    /// On a failed batch, split it and retry the halves to find the keys that really fail.
    /// By default, this is `false`.
    pub isolate_errors: bool,
}

impl Default for LoaderConfig {
    fn default() -> Self {
        Self {
            min_concurrency: 1,
            initial_concurrency: 4,
            max_concurrency: 256,
            scaling_strategy: StrategyKind::Adaptive,
            metrics_window: Duration::from_secs(10),
            batch_delay: Duration::from_micros(200),
            max_batch_size: 1000,
            target_response_time: Duration::from_millis(25),
            queue_capacity: 10_000,
            max_requests: 1024,
            max_requests_waiting: 1024,
            max_queue_wait: Duration::from_secs(1),
            batch_timeout: Duration::from_secs(5),
            isolate_errors: false,
        }
    }
}

impl LoaderConfig {
    /// Checks that the bounds are consistent.
    ///
    /// ```
    /// use loader_core::LoaderConfig;
    /// let mut config = LoaderConfig::default();
    /// assert!(config.validate().is_ok());
    /// config.min_concurrency = 500;
    /// assert!(config.validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        if self.min_concurrency == 0 {
            return bad("min_concurrency must be at least 1".into());
        }
        if self.min_concurrency > self.max_concurrency {
            return bad(format!(
                "min_concurrency ({}) is above max_concurrency ({})",
                self.min_concurrency, self.max_concurrency
            ));
        }
        if !(self.min_concurrency..=self.max_concurrency).contains(&self.initial_concurrency) {
            return bad(format!(
                "initial_concurrency ({}) must lie in [min_concurrency, max_concurrency] = [{}, {}]",
                self.initial_concurrency, self.min_concurrency, self.max_concurrency
            ));
        }
        if self.max_batch_size == 0 {
            return bad("max_batch_size must be at least 1".into());
        }
        if self.queue_capacity == 0 || self.max_requests == 0 {
            return bad("queue_capacity and max_requests must be at least 1".into());
        }
        if self.metrics_window.is_zero() || self.batch_timeout.is_zero() {
            return bad("metrics_window and batch_timeout must be positive".into());
        }
        Ok(())
    }

    /// The part of the configuration the limit strategies see.
    pub fn strategy_config(&self) -> StrategyConfig {
        StrategyConfig {
            min_concurrency: self.min_concurrency,
            initial_concurrency: self.initial_concurrency,
            max_concurrency: self.max_concurrency,
        }
    }
}

mod duration_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

mod duration_us {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_micros() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_micros)
    }
}
