//! `EngineBuilder`: every engine option, one setter each.

use std::{fmt, sync::Arc, time::Duration};

use crate::{
    ConfigError, Engine, LearnedState, LoaderConfig,
    limit::{ScalingStrategy, StrategyKind},
    metrics::{LocalLoadProbe, RuntimeBusyProbe},
};

/// Builds an [`Engine`]. The setters mirror [`LoaderConfig`]'s fields; `build` validates.
///
/// ```
/// use std::time::Duration;
/// use loader_core::{Engine, limit::StrategyKind};
///
/// let engine = Engine::builder()
///     .min_concurrency(2)
///     .initial_concurrency(8)
///     .max_concurrency(64)
///     .scaling_strategy(StrategyKind::Gradient2)
///     .target_response_time(Duration::from_millis(10))
///     .isolate_errors(true)
///     .build()
///     .unwrap();
/// assert_eq!(engine.limit(), 8);
///
/// assert!(Engine::builder().min_concurrency(10).max_concurrency(5).build().is_err());
/// ```
#[must_use]
pub struct EngineBuilder {
    config: LoaderConfig,
    strategy: Option<Box<dyn ScalingStrategy>>,
    learned: Option<LearnedState>,
    probe: Option<LocalLoadProbe>,
}

impl fmt::Debug for EngineBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineBuilder")
            .field("config", &self.config)
            .field("strategy", &self.strategy.as_ref().map(|s| s.name()))
            .field("learned", &self.learned)
            .finish_non_exhaustive()
    }
}

impl Default for EngineBuilder {
    fn default() -> Self {
        Self::new()
    }
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.config.$name = value;
            self
        }
    };
}

impl EngineBuilder {
    /// A builder with every option at its default.
    pub fn new() -> Self {
        Self {
            config: LoaderConfig::default(),
            strategy: None,
            learned: None,
            probe: None,
        }
    }

    setter!(
        /// Lower bound of the concurrency limit. By default, this is `1`.
        min_concurrency: usize
    );
    setter!(
        /// Limit used before anything is learned. By default, this is `4`.
        initial_concurrency: usize
    );
    setter!(
        /// Upper bound of the concurrency limit. By default, this is `256`.
        max_concurrency: usize
    );
    setter!(
        /// The algorithm that moves the limit. By default, this is `adaptive`.
        scaling_strategy: StrategyKind
    );
    setter!(
        /// Window over which metrics (throughput, error rate, percentiles) are computed.
        /// By default, this is 10 s.
        metrics_window: Duration
    );
    setter!(
        /// Longest time a batch stays open collecting keys; it closes earlier as soon as keys
        /// stop arriving. By default, this is 200 µs.
        batch_delay: Duration
    );
    setter!(
        /// Upper bound of keys in one batch call. By default, this is `1000`.
        max_batch_size: usize
    );
    setter!(
        /// The adaptive batch size keeps one call's predicted time under this.
        /// By default, this is 25 ms.
        target_response_time: Duration
    );
    setter!(
        /// Most standalone loads (outside a request admitted at the door) that may wait at
        /// once (all groups) before they are refused with `Overloaded`.
        /// By default, this is `10_000`.
        queue_capacity: usize
    );
    setter!(
        /// Most requests admitted at the door in flight at once (the door's law never admits
        /// fewer than 8 or the concurrency limit, unless this is lower). By default, this is
        /// `1024`.
        max_requests: usize
    );
    setter!(
        /// Most requests waiting at the door at once. By default, this is `1024`.
        max_requests_waiting: usize
    );
    setter!(
        /// A request that would wait longer than this at the door, or a standalone load for
        /// its batch, is refused with `Overloaded`. By default, this is 1 s.
        max_queue_wait: Duration
    );
    setter!(
        /// A batch call running longer than this is cut and its keys fail with `Timeout`.
        /// By default, this is 5 s.
        batch_timeout: Duration
    );
    setter!(
        /// On a failed batch, split it and retry the halves to find the keys that really fail.
        /// By default, this is `false`.
        isolate_errors: bool
    );

    /// Replaces the whole configuration. By default, this is `LoaderConfig::default()`.
    pub fn config(mut self, config: LoaderConfig) -> Self {
        self.config = config;
        self
    }

    /// Uses this strategy instance instead of the one `scaling_strategy` names.
    /// By default, this is `None` (the strategy is built from `scaling_strategy`).
    pub fn strategy(mut self, strategy: Box<dyn ScalingStrategy>) -> Self {
        self.strategy = Some(strategy);
        self
    }

    /// Starts from state learned in an earlier run (see [`LearnedState`]).
    /// By default, this is `None` (start from `initial_concurrency`).
    pub fn learned_state(mut self, state: LearnedState) -> Self {
        self.learned = Some(state);
        self
    }

    /// The source of the local runtime's load (`0.0..=1.0`) given to the strategy.
    /// By default, this is the tokio runtime's worker busy ratio (`0.0` when unavailable).
    pub fn local_load_probe(mut self, probe: Arc<dyn Fn() -> f64 + Send + Sync>) -> Self {
        self.probe = Some(probe);
        self
    }

    /// Validates the configuration and builds the engine.
    pub fn build(self) -> Result<Engine, ConfigError> {
        self.config.validate()?;
        let strategy = match self.strategy {
            Some(s) => s,
            None => self
                .config
                .scaling_strategy
                .build(self.config.strategy_config()),
        };
        let probe = self.probe.unwrap_or_else(|| {
            let probe = Arc::new(RuntimeBusyProbe::default());
            Arc::new(move || probe.sample())
        });
        Ok(Engine::from_parts(
            self.config,
            strategy,
            probe,
            self.learned,
        ))
    }
}
