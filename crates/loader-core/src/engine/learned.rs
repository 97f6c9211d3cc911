//! `LearnedState`: what an engine learned, for the caller to keep between runs (serde).
//!
//! Per query group the cost model (fixed and per-key cost) and the limit at which the group
//! saw its best throughput; engine-wide the limit of the best throughput tick. A restarted
//! engine restores it to start near its last good limit (the strategy's `warm_start`) and to
//! size batches from the learned costs at once, instead of relearning from
//! `initial_concurrency`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{QueryGroup, metrics::CostEstimate};

/// What an engine learned ([`Engine::learned`](crate::Engine::learned)): keep it at shutdown
/// (it is plain serde data: a JSON file, a database row), and give it back at the next start
/// ([`EngineBuilder::learned_state`](crate::EngineBuilder::learned_state) or
/// [`Engine::restore`](crate::Engine::restore)). Reading and writing it is the caller's.
///
/// ```
/// use loader_core::{Engine, LearnedState};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let engine = Engine::builder().build()?;
/// let json = serde_json::to_string(&engine.learned())?; // e.g. written to a file
///
/// let state: LearnedState = serde_json::from_str(&json)?;
/// let restarted = Engine::builder().learned_state(state).build()?;
/// assert_eq!(restarted.limit(), 4);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnedState {
    /// Format version ([`LearnedState::VERSION`]).
    pub version: u32,
    /// Name of the strategy that learned it.
    pub strategy: String,
    /// The limit of the best throughput seen, engine-wide.
    pub best_limit: Option<usize>,
    /// Per query group, by name.
    pub groups: BTreeMap<String, LearnedGroup>,
}

/// What was learned about one query group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LearnedGroup {
    /// The cost of one batch call.
    pub cost: CostEstimate,
    /// The engine limit in force when this group saw its best throughput.
    pub best_limit: Option<usize>,
}

impl LearnedState {
    /// The format version written by this crate.
    pub const VERSION: u32 = 1;

    /// An empty state (nothing learned).
    pub fn empty(strategy: impl Into<String>) -> Self {
        Self {
            version: LearnedState::VERSION,
            strategy: strategy.into(),
            best_limit: None,
            groups: BTreeMap::new(),
        }
    }
}

impl crate::Engine {
    /// What the engine learned so far: per-group costs and the best limit.
    pub fn learned(&self) -> LearnedState {
        let best_limit = self.inner.controller.lock().best_limit();
        let groups = self
            .inner
            .groups
            .iter()
            .map(|e| (e.key().as_str().to_string(), e.value().learned()))
            .collect();
        LearnedState {
            version: LearnedState::VERSION,
            strategy: self.inner.strategy.to_string(),
            best_limit,
            groups,
        }
    }

    /// Adopts learned state: the strategy warm-starts at the best limit, and each group sizes
    /// its batches from its learned costs at once.
    pub fn restore(&self, state: &LearnedState) {
        let inner = &self.inner;
        for (name, learned) in &state.groups {
            inner.group(QueryGroup::new(name.as_str())).restore(learned);
        }
        if let Some(best) = state.best_limit {
            let change = inner.controller.lock().warm_start(inner.now(), best);
            if let Some(change) = change {
                inner.apply_limit_change(&change);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> LearnedState {
        let mut state = LearnedState::empty("adaptive");
        state.best_limit = Some(12);
        state.groups.insert(
            "users.by_id".into(),
            LearnedGroup {
                cost: CostEstimate {
                    fixed_ms: 1.5,
                    per_key_ms: 0.02,
                    samples: 40,
                },
                best_limit: Some(10),
            },
        );
        state
    }

    #[test]
    fn a_state_written_as_json_reads_back_equal() {
        let state = state();
        let json = serde_json::to_string_pretty(&state).unwrap();
        assert_eq!(serde_json::from_str::<LearnedState>(&json).unwrap(), state);
    }

    #[test]
    fn json_of_another_shape_is_an_error() {
        assert!(serde_json::from_str::<LearnedState>("{ not json").is_err());
        assert!(serde_json::from_str::<LearnedState>(r#"{"version": 1}"#).is_err());
    }

    #[tokio::test]
    async fn a_restored_engine_starts_at_the_learned_limit_and_costs() {
        let engine = crate::Engine::builder()
            .learned_state(state())
            .build()
            .unwrap();
        assert_eq!(engine.limit(), 12);
        let learned = engine.learned();
        assert_eq!(learned.best_limit, Some(12));
        assert_eq!(learned.groups["users.by_id"].cost.samples, 40);
    }
}
