//! `LearnedState`: what an engine learned, saved between runs as JSON.
//!
//! Per query group the cost model (fixed and per-key cost) and the limit at which the group
//! saw its best throughput; engine-wide the limit of the best throughput tick. A restarted
//! engine restores it to start near its last good limit (the strategy's `warm_start`) and to
//! size batches from the learned costs at once, instead of relearning from
//! `initial_concurrency`.

use std::{collections::BTreeMap, path::Path};

use serde::{Deserialize, Serialize};

use crate::{ConfigError, metrics::CostEstimate};

/// The format version written by this crate.
pub const LEARNED_STATE_VERSION: u32 = 1;

/// What an engine learned: save it at shutdown, restore it at start.
///
/// ```
/// use loader_core::{Engine, LearnedState};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("learned.json");
///
/// let engine = Engine::builder().build()?;
/// engine.save_learned(&path)?;
///
/// let state: LearnedState = Engine::load_learned(&path)?;
/// let restarted = Engine::builder().learned_state(state).build()?;
/// assert_eq!(restarted.limit(), 4);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnedState {
    /// Format version ([`LEARNED_STATE_VERSION`]).
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
    /// An empty state (nothing learned).
    pub fn empty(strategy: impl Into<String>) -> Self {
        Self {
            version: LEARNED_STATE_VERSION,
            strategy: strategy.into(),
            best_limit: None,
            groups: BTreeMap::new(),
        }
    }

    /// Writes the state as pretty JSON (via a temporary file renamed into place, so a crash
    /// mid-write never leaves a truncated file).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), ConfigError> {
        let path = path.as_ref();
        let io = |source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        };
        let json = serde_json::to_vec_pretty(self).map_err(|source| ConfigError::Format {
            path: path.to_path_buf(),
            source,
        })?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, json).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Reads a state written by [`save`](Self::save).
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|source| ConfigError::Format {
            path: path.to_path_buf(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_state_loads_back_equal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
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
        state.save(&path).unwrap();
        assert_eq!(LearnedState::load(&path).unwrap(), state);
    }

    #[test]
    fn a_missing_or_corrupt_file_is_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.json");
        assert!(matches!(
            LearnedState::load(&missing),
            Err(ConfigError::Io { .. })
        ));
        let corrupt = dir.path().join("bad.json");
        std::fs::write(&corrupt, b"{ not json").unwrap();
        assert!(matches!(
            LearnedState::load(&corrupt),
            Err(ConfigError::Format { .. })
        ));
    }
}
