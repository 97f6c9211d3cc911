//! The oracle on disk, one file per scenario, recomputed when anything it depends on
//! changes: the scenario, the search's options, or the engine's and simulator's code.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Oracle, SearchOptions};
use crate::{Scenario, SimError};

/// Fingerprint of the code a fixed limit's run depends on: the engine without its scaling
/// strategies (`fixed.rs` aside), its unit tests and comment lines, the simulator's model,
/// load and run loop, the oracle, and `Cargo.lock` (computed by `build.rs`).
pub const ENGINE_FINGERPRINT: &str = env!("LOADER_SIM_ENGINE_FINGERPRINT");

/// A directory of cached oracles.
#[derive(Debug, Clone)]
pub struct OracleCache {
    dir: PathBuf,
    refresh: bool,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    key: String,
    oracle: Oracle,
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The cache key of `scenario`'s oracle.
pub fn key(scenario: &Scenario, options: SearchOptions) -> String {
    let text = serde_json::to_string(&(scenario, options)).unwrap_or_default();
    format!("{ENGINE_FINGERPRINT}-{:016x}", fnv(text.as_bytes()))
}

impl OracleCache {
    /// A cache in `dir` (created on the first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            refresh: false,
        }
    }

    /// With `true`, [`get`](Self::get) finds nothing: every oracle is computed again (and
    /// written). By default, this is `false`.
    #[must_use]
    pub fn refreshing(mut self, refresh: bool) -> Self {
        self.refresh = refresh;
        self
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// One file per scenario and key: `<family>_<seed>-<key hash>.json`.
    fn path(&self, scenario: &Scenario, key: &str) -> PathBuf {
        let name: String = scenario
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let hash = fnv(key.as_bytes()) & 0xffff_ffff;
        self.dir.join(format!("{name}-{hash:08x}.json"))
    }

    /// The cached oracle of `scenario`, if it was computed for this very scenario, these
    /// options and this code.
    pub fn get(&self, scenario: &Scenario, options: SearchOptions) -> Option<Oracle> {
        if self.refresh {
            return None;
        }
        let key = key(scenario, options);
        let text = std::fs::read_to_string(self.path(scenario, &key)).ok()?;
        let entry: Entry = serde_json::from_str(&text).ok()?;
        (entry.key == key).then_some(entry.oracle)
    }

    /// Stores `oracle` (written to a temporary file, then renamed: a reader never sees half
    /// a file).
    pub fn put(
        &self,
        scenario: &Scenario,
        options: SearchOptions,
        oracle: &Oracle,
    ) -> Result<(), SimError> {
        let key = key(scenario, options);
        let path = self.path(scenario, &key);
        let write = |source| SimError::Write {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(write)?;
        let entry = Entry {
            key,
            oracle: oracle.clone(),
        };
        let text = serde_json::to_string(&entry).map_err(|e| write(std::io::Error::other(e)))?;
        let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
        std::fs::write(&tmp, text).map_err(write)?;
        std::fs::rename(&tmp, &path).map_err(write)
    }
}
